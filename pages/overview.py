"""Overview (home): the catalog at a glance; where something is missing, what to run."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html

from components import auth, ids, jobs, overview, ui
from components.data import open_workspace
from components.settings import workspace_path

dash.register_page(__name__, path="/", name="Overview", title="Style Atlas · Overview", nav_order=0)


def _build_card(steps: list[tuple[str, str]]) -> dbc.Card:
    """Run the missing steps from the page, as a background job with a progress bar."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.Div([html.Div("Build the missing parts here", className="fw-semibold"),
                                  html.Div("Runs " + ", ".join(label for _, label in steps)
                                           + " in the background; it can take a few minutes.",
                                           className="small text-muted")]),
                        dbc.Button("Build now", id=ids.BUILD_MISSING, color="primary"),
                    ],
                    className="d-flex justify-content-between align-items-center gap-3",
                ),
                dbc.Progress(id=ids.BUILD_PROGRESS, value=0, striped=True, animated=True, class_name="mt-2",
                             style={"height": "1.2rem"}),
                html.Div(id=ids.BUILD_RESULT, className="mt-2"),
            ]
        ),
        class_name="shadow-sm mb-4",
        id=ids.BUILD_CARD,
    )


def layout(**_query: Any) -> html.Div:
    """The overview, read from the workspace on every visit."""
    path = workspace_path()
    ws = open_workspace(path)
    summary = overview.summarise(ws, path)
    steps = jobs.missing_steps(ws) if ws is not None else []
    return html.Div(
        [
            ui.page_header("Catalog overview", "What this collection holds and what has been computed from it."),
            _build_card(steps) if steps and auth.is_editor() else None,
            overview.render(summary),
        ],
        id=ids.PAGE_OVERVIEW,
    )


@callback(
    Output(ids.BUILD_RESULT, "children"),
    Input(ids.BUILD_MISSING, "n_clicks"),
    background=True,
    running=[(Output(ids.BUILD_MISSING, "disabled"), True, False)],
    progress=[Output(ids.BUILD_PROGRESS, "value"), Output(ids.BUILD_PROGRESS, "label")],
    prevent_initial_call=True,
)
def _build(set_progress: Any, _clicks: int | None) -> Any:
    if (refused := auth.refusal("start a build")) is not None:
        return ui.alert(refused, "warning", id=ids.BUILD_REFUSED)

    def report(done: int, total: int, label: str) -> None:
        pct = int(100 * done / total) if total else 100
        set_progress((pct, f"{label} {pct}%"))

    try:
        built = jobs.run_missing(workspace_path(), report)
    except Exception as exc:  # noqa: BLE001 - shown to the user instead of a silent failed job
        return ui.alert(f"The build stopped: {exc}", "danger")
    if not built:
        return ui.alert("Nothing to build.", "secondary")
    return ui.alert(f"Built {', '.join(built)}. Reload the page to see them.", "success")
