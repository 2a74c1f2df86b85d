"""Explore: the 2-D map of the catalog, hover previews, lasso selection into a tray."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from components import auth, clusterdata, explore, ratelimit, ui
from components.data import catalog, open_workspace, runs
from core.workspace import build_command

dash.register_page(__name__, path="/explore", name="Explore", title="Style Atlas · Explore", nav_order=1)

GRAPH_CONFIG: Any = {
    "displaylogo": False,
    "scrollZoom": True,
    "modeBarButtonsToRemove": ["toImage", "autoScale2d"],
}


def _tray_panel() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(html.Span("Selection tray", className="fw-semibold")),
            dbc.CardBody(
                [
                    html.P(explore.tray_summary(0), id="tray-summary", className="small text-muted"),
                    html.Div(id="tray", className="tray mb-3"),
                    dbc.Label("Save the selection as a tag", class_name="small fw-semibold mb-1"),
                    dbc.InputGroup(
                        [
                            dbc.Input(id="tray-tag-name", placeholder="tag, e.g. summer edit", maxLength=64),
                            dbc.Button("Save tag", id="tray-save-tag", color="primary"),
                        ],
                        size="sm",
                        class_name="mb-3",
                    ),
                    dbc.Label("…or as examples of a direction", class_name="small fw-semibold mb-1"),
                    dbc.Input(id="tray-direction-name", placeholder="direction, e.g. stripes", maxLength=80, size="sm",
                              class_name="mb-1"),
                    dbc.ButtonGroup(
                        [
                            dbc.Button("Add as positive", id="tray-add-positive", color="success", outline=True, size="sm"),
                            dbc.Button("Add as negative", id="tray-add-negative", color="danger", outline=True, size="sm"),
                        ],
                        class_name="mb-2 w-100",
                    ),
                    html.Div(id="tray-message"),
                ]
            ),
        ],
        class_name="shadow-sm h-100",
    )


def layout(map: str | None = None, color: str | None = None, **_query: Any) -> html.Div:  # noqa: A002
    """The map as stored in the workspace; query ``?map=<run>&color=<cluster|label|colour|novelty>``."""
    ws = open_workspace()
    header = ui.page_header("Explore the collection", "Photos that look alike sit together. Hover to preview; lasso to collect.")
    if ws is None:
        return html.Div([header, ui.no_workspace()],
                        id="page-explore")
    maps = runs(ws, "projection")
    if not maps:
        return html.Div(
            [header, ui.empty_state("No map yet", "The 2-D map of the catalog has not been computed.",
                                    command=build_command("projection/default", ws.root), id="explore-missing")],
            id="page-explore",
        )
    run_id = map if map in maps else maps[0]
    key = explore.current_key(ws, run_id)
    frame = explore.map_frame(key)
    has_clusters = "cluster" in frame.columns
    color_by = explore.effective_color(frame, color if color in explore.COLOR_OPTIONS else "cluster")
    names = clusterdata.display_names(ws, key.clusters) if key.clusters else {}
    figure = explore.build_figure(frame, color_by, names)
    options = [
        {"label": label, "value": value, "disabled": value in ("cluster", "novelty") and not has_clusters}
        for value, label in explore.COLOR_OPTIONS.items()
    ]
    controls = html.Div(
        [
            dbc.Select(id="explore-map-select", options=[{"label": f"map: {m}", "value": m} for m in maps], value=run_id,
                       size="sm", style={"width": "12rem"}),
            dbc.RadioItems(id="explore-color", options=options, value=color_by, inline=True,
                           class_name="btn-group btn-group-sm", input_class_name="btn-check",
                           label_class_name="btn btn-outline-primary", label_checked_class_name="active"),
        ],
        className="d-flex gap-3 align-items-center flex-wrap",
    )
    hint = None if has_clusters else dbc.Alert(
        ["Colour by cluster and novelty need a clustering: ", html.Code(build_command("clusters/default", ws.root))],
        color="light", class_name="small py-2 mb-2",
    )
    return html.Div(
        [
            ui.page_header("Explore the collection",
                           f"{len(frame):,} photos on the map. Hover to preview, click to open, lasso to collect.",
                           right=controls),
            hint,
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(
                                html.Div(
                                    [
                                        dcc.Graph(id="explore-map", figure=figure, config=GRAPH_CONFIG,
                                                  clear_on_unhover=True, style={"height": "72vh"}),
                                        dcc.Tooltip(id="explore-tooltip", direction="right", background_color="white",
                                                    border_color="#ddd"),
                                    ],
                                    style={"position": "relative"},
                                ),
                                class_name="p-1",
                            ),
                            class_name="shadow-sm",
                        ),
                        lg=8,
                    ),
                    dbc.Col(_tray_panel(), lg=4),
                ],
                class_name="g-3",
            ),
            dcc.Store(id="explore-key", data=key.to_dict(color_by)),
            dcc.Store(id="tray-ids", data=[]),
            dcc.Location(id="explore-nav", refresh="callback-nav"),
            dcc.Store(id="explore-url-sync"),
        ],
        id="page-explore",
    )


# The address bar follows the controls (?map=…&color=…), so a view can be bookmarked or shared.
# history.replaceState changes the URL without a navigation: Dash's router does not re-render
# the page (a dcc.Location output would) and the back button is not flooded with entries.
clientside_callback(
    """
    function(map, color) {
        const params = new URLSearchParams(window.location.search);
        if (map) { params.set("map", map); }
        if (color) { params.set("color", color); }
        const url = window.location.pathname + "?" + params.toString() + window.location.hash;
        window.history.replaceState(window.history.state, "", url);
        return window.dash_clientside.no_update;
    }
    """,
    Output("explore-url-sync", "data"),
    Input("explore-map-select", "value"),
    Input("explore-color", "value"),
    prevent_initial_call=True,
)


@callback(
    Output("explore-map", "figure"),
    Output("explore-key", "data"),
    Input("explore-map-select", "value"),
    Input("explore-color", "value"),
    prevent_initial_call=True,
)
def _redraw(run_id: str, color_by: str) -> tuple[Any, Any]:
    ws = open_workspace()
    if ws is None or not ws.has(f"projection/{run_id}"):
        return no_update, no_update
    key = explore.current_key(ws, run_id)
    names = clusterdata.display_names(ws, key.clusters) if key.clusters else {}
    frame = explore.map_frame(key)
    return explore.build_figure(frame, color_by, names), key.to_dict(explore.effective_color(frame, color_by))


@callback(
    Output("explore-tooltip", "show"),
    Output("explore-tooltip", "bbox"),
    Output("explore-tooltip", "children"),
    Input("explore-map", "hoverData"),
    State("explore-key", "data"),
)
def _hover(hover_data: dict[str, Any] | None, key: dict[str, Any] | None) -> tuple[Any, Any, Any]:
    ws = open_workspace()
    if not hover_data or not key or ws is None:
        return False, no_update, no_update
    map_key = explore.MapKey.from_dict(key, ws)
    names = clusterdata.display_names(ws, map_key.clusters) if map_key.clusters else {}
    rows = explore.cached_trace_rows(map_key, key.get("color_by"))
    show, bbox, children = explore.tooltip(explore.map_frame(map_key), rows, hover_data, names)
    return show, bbox if show else no_update, children if show else no_update


@callback(
    Output("tray-ids", "data"),
    Output("tray", "children"),
    Output("tray-summary", "children"),
    Input("explore-map", "selectedData"),
    State("explore-key", "data"),
    prevent_initial_call=True,
)
def _select(selected: dict[str, Any] | None, key: dict[str, Any] | None) -> tuple[Any, Any, Any]:
    ws = open_workspace()
    if not key or ws is None:
        return [], [], explore.tray_summary(0)
    map_key = explore.MapKey.from_dict(key, ws)
    rows = explore.cached_trace_rows(map_key, key.get("color_by"))
    ids = explore.selected_ids(explore.map_frame(map_key), rows, selected)
    cat = catalog(ws)
    cards = [ui.item_card(i, cat.label(i) if cat else None) for i in ids[: explore.TRAY_SHOWN]]
    return ids, ui.gallery(cards, min_width=84, id="tray-gallery") if cards else [], explore.tray_summary(len(ids))


@callback(
    Output("tray-message", "children"),
    Input("tray-save-tag", "n_clicks"),
    Input("tray-add-positive", "n_clicks"),
    Input("tray-add-negative", "n_clicks"),
    State("tray-ids", "data"),
    State("tray-tag-name", "value"),
    State("tray-direction-name", "value"),
    prevent_initial_call=True,
)
def _save(_t: int | None, _p: int | None, _n: int | None, ids: list[str], tag: str | None, direction: str | None) -> Any:
    ws = open_workspace()
    if ws is None:
        return ui.alert("The workspace is missing.", "danger")
    action = {"tray-save-tag": "tag", "tray-add-positive": "positive", "tray-add-negative": "negative"}[ctx.triggered_id]
    scratch: str | None = None
    if not auth.is_editor():  # a viewer's tray goes to their own scratch space
        scratch = auth.scratch_id(create=True)
        refused = ratelimit.refusal("scratch") if scratch else "Saving needs a session; reload the page."
        if refused:
            return ui.alert(refused, "warning", id="tray-alert")
    message, colour = explore.save_tray(ws, ids or [], action, tag if action == "tag" else direction, scratch)
    return ui.alert(message, colour, id="tray-alert")


@callback(
    Output("explore-nav", "href"),
    Input("explore-map", "clickData"),
    State("explore-key", "data"),
    prevent_initial_call=True,
)
def _open(click: dict[str, Any] | None, key: dict[str, Any] | None) -> Any:
    ws = open_workspace()
    if not key or ws is None:
        return no_update
    map_key = explore.MapKey.from_dict(key, ws)
    href = explore.clicked_href(explore.map_frame(map_key), explore.cached_trace_rows(map_key, key.get("color_by")), click)
    return href or no_update
