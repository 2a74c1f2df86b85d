"""Overview (home): the catalog at a glance; where something is missing, what to run."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html

from components import auth, ids, jobs, overview, ui
from components.data import open_workspace
from components.settings import workspace_path
from core.errors import StyleAtlasError

dash.register_page(__name__, path="/", name="Overview", title="Style Atlas · Overview", nav_order=0)


def _build_card(steps: list[tuple[str, str]]) -> dbc.Card:
    """Run the missing steps from the page, as a job (the banner shows its progress)."""
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
    Output(ids.BUILD_POLL, "disabled", allow_duplicate=True),
    Input(ids.BUILD_MISSING, "n_clicks"),
    prevent_initial_call=True,
)
def _build(_clicks: int | None) -> tuple[Any, Any]:
    """Queue a build job of the missing steps (it runs in a worker process; the banner follows it)."""
    if not _clicks:  # the button (re)drawn, not pressed: Dash may call on insertion
        return dash.no_update, dash.no_update
    if (refused := auth.refusal("start a build")) is not None:
        return ui.alert(refused, "warning", id=ids.BUILD_REFUSED), dash.no_update
    try:
        job = jobs.start(workspace_path())
    except StyleAtlasError as exc:
        return ui.alert(f"The build cannot start: {exc}", "danger"), dash.no_update
    if job is None:
        return ui.alert("Nothing to build.", "secondary"), dash.no_update
    note = " It waits for the job already running on this collection." if job.state == "queued" and jobs.busy(
        workspace_path(), job.id) else ""
    return ui.alert(f"Build started: {', '.join(jobs.step_labels(job))}.{note} The banner above shows its progress.",
                    "success", id=ids.BUILD_STARTED), False
