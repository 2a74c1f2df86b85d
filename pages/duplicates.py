"""Duplicates: near-duplicate groups side by side; keep one, hide the rest (reversible)."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from components import auth, ids, ui
from components import duplicates as dup
from components.data import open_workspace
from core.duplicates import DEFAULT_THRESHOLD, MAX_THRESHOLD, MIN_THRESHOLD
from core.pipeline import DEFAULT_FEATURES

dash.register_page(__name__, path="/duplicates", name="Duplicates", title="Style Atlas · Duplicates", nav_order=5)


def layout(threshold: str | None = None, **_query: Any) -> html.Div:
    """Duplicate groups; ``?threshold=0.9`` starts the slider there (clamped to its range)."""
    ws = open_workspace()
    header = ui.page_header("Duplicates", "The same piece photographed twice, crops and re-encodes. Keep one; "
                            "the rest leave every gallery, search and the map (nothing is deleted).")
    guard = ui.page_guard(ws, header, ids.PAGE_DUPLICATES, DEFAULT_FEATURES,
                          ("No features yet", "Finding duplicates needs the image features.", ids.DUP_MISSING))
    if guard is not None or ws is None:
        return guard
    editor = auth.is_editor()
    return html.Div(
        [
            header,
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Div("Similarity threshold", className="small fw-semibold"),
                            dcc.Slider(id=ids.DUP_THRESHOLD, min=MIN_THRESHOLD, max=MAX_THRESHOLD, step=0.01,
                                       value=dup.clean_threshold(threshold if threshold is not None else DEFAULT_THRESHOLD),
                                       updatemode="mouseup",
                                       marks={MIN_THRESHOLD: "looser", DEFAULT_THRESHOLD: "default", MAX_THRESHOLD: "exact"}),
                            html.Div(id=ids.DUP_SUMMARY, className="small text-muted mb-2"),
                            html.Div(id=ids.DUP_MESSAGE),
                            html.Div("Hidden", className="small fw-semibold mt-3"),
                            html.Div(dup.hidden_view(ws, editor), id=ids.DUP_HIDDEN),
                            None if editor else html.P("Viewers see the groups; an editor keeps and hides.",
                                                       className="small text-muted mt-2"),
                        ],
                        lg=3,
                    ),
                    dbc.Col(dcc.Loading(html.Div(id=ids.DUP_GROUPS), type="dot", delay_show=300), lg=9),
                ],
                class_name="g-3",
            ),
            dcc.Store(id=ids.DUP_VERSION, data=0),
        ],
        id=ids.PAGE_DUPLICATES,
    )


@callback(
    Output(ids.DUP_GROUPS, "children"),
    Output(ids.DUP_SUMMARY, "children"),
    Output(ids.DUP_HIDDEN, "children"),
    Input(ids.DUP_THRESHOLD, "value"),
    Input(ids.DUP_VERSION, "data"),
)
def _groups(threshold: float | None, _version: int | None) -> tuple[Any, Any, Any]:
    ws = open_workspace()
    if ws is None:
        return ui.no_workspace(), None, None
    editor = auth.is_editor()
    found = dup.groups(ws, threshold)
    return (dup.group_view(ws, found, editor), dup.summary(found, dup.clean_threshold(threshold)),
            dup.hidden_view(ws, editor))


@callback(
    Output(ids.DUP_MESSAGE, "children"),
    Output(ids.DUP_VERSION, "data"),
    Input({"type": ids.DUP_KEEP_TYPE, "item": ALL}, "n_clicks"),
    Input({"type": ids.DUP_UNHIDE_TYPE, "item": ALL}, "n_clicks"),
    State(ids.DUP_THRESHOLD, "value"),
    State(ids.DUP_VERSION, "data"),
    prevent_initial_call=True,
)
def _keep_or_restore(_keep: list[int | None], _unhide: list[int | None], threshold: float | None,
                     version: int | None) -> tuple[Any, Any]:
    """An editor keeps one photo of a group (the others are hidden) or shows a group again."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not (ctx.triggered and ctx.triggered[0].get("value")):
        return no_update, no_update
    if (refused := auth.refusal("hide duplicates")) is not None:
        return ui.alert(refused, "warning", id=ids.DUP_MESSAGE + "-alert"), no_update
    ws = open_workspace()
    if ws is None:
        return ui.alert("The workspace is missing.", "danger"), no_update
    text, colour = (dup.keep(ws, trigger.get("item"), threshold) if trigger.get("type") == ids.DUP_KEEP_TYPE
                    else dup.restore(ws, trigger.get("item")))
    return ui.alert(text, colour, id=ids.DUP_MESSAGE + "-alert"), int(version or 0) + 1
