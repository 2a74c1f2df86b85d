"""The banner above every page while the workspace is being built on first start.

It polls the build's status file (:mod:`components.build_status`) every two seconds while a
build runs, and stops polling once there is nothing to report.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components import ids
from components.auth import is_editor, refusal
from components.build_status import BuildStatus, read_status
from components.links import with_collection
from components.settings import workspace_path

POLL_MS = 2000


def layout() -> html.Div:
    """The banner's slot and its poll timer."""
    return html.Div(
        [dcc.Interval(id=ids.BUILD_POLL, interval=POLL_MS), html.Div(id=ids.BUILD_BANNER)],
        id=ids.BUILD_BANNER_SLOT,
    )


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def render(status: BuildStatus | None, was_showing: bool) -> tuple[Any, bool]:
    """Banner children for ``status`` and whether polling should stop.

    ``was_showing``: the banner showed a running build before this poll; a build that has
    just finished then says so (with a reload button) instead of vanishing.
    """
    if status is None or (status.state == "done" and not was_showing):
        return None, True
    if status.state == "done":
        return dbc.Alert(
            [
                html.Span("The demo catalog is ready. ", className="fw-bold"),
                html.Span(f"Built in {_minutes(status.elapsed)}. "),
                dbc.Button("Show it", id=ids.BUILD_RELOAD, href=with_collection("/"), external_link=True, color="light", size="sm",
                           className="ms-2"),
            ],
            color="success", className="mt-3 mb-0", id=ids.BUILD_STATE_DONE,
        ), True
    if status.state in ("failed", "interrupted"):
        why = status.error or "the building process stopped before it finished."
        return dbc.Alert(
            [
                html.Span("Building the demo catalog did not finish: ", className="fw-bold"),
                html.Span(why),
                html.Span(" Finished work is kept; the server log has details. "),
                dbc.Button("Resume the build", id=ids.BUILD_RESUME, color="light", size="sm", className="ms-2")
                if is_editor() else None,
            ],
            color="danger", className="mt-3 mb-0", id=ids.BUILD_STATE_FAILED,
        ), True
    step = status.step if status.step and status.step != "starting" else "starting (loading the models)"
    count = f" — {status.done:,} / {status.total:,}" if status.total else ""
    done_steps = f"Done: {', '.join(status.steps_done)}." if status.steps_done else ""
    return dbc.Alert(
        [
            html.Div(
                [
                    html.Span("Building the demo catalog", className="fw-bold"),
                    html.Span(f" (first start, a few minutes; {_minutes(status.elapsed)} so far). "),
                    html.Span(f"Now: {step}{count}", id=ids.BUILD_STEP),
                ]
            ),
            dbc.Progress(value=round(100 * status.fraction), className="my-2", style={"height": "6px"}),
            html.Small(done_steps + " Pages fill in as each step lands.", className="d-block"),
        ],
        color="info", className="mt-3 mb-0", id=ids.BUILD_STATE_BUILDING,
    ), False


@callback(
    Output(ids.BUILD_BANNER, "children"),
    Output(ids.BUILD_POLL, "disabled"),
    Input(ids.BUILD_POLL, "n_intervals"),
    State(ids.BUILD_BANNER, "children"),
)
def _poll(_n: int | None, current: Any) -> tuple[Any, bool]:
    return render(read_status(workspace_path()), was_showing=bool(current))


@callback(
    Output(ids.BUILD_BANNER, "children", allow_duplicate=True),
    Output(ids.BUILD_POLL, "disabled", allow_duplicate=True),
    Input(ids.BUILD_RESUME, "n_clicks"),
    prevent_initial_call=True,
)
def _resume(n_clicks: int | None) -> tuple[Any, Any]:
    """Start the build again (it resumes from the feature cache) and follow it."""
    from components.bootstrap import resume_build

    if not n_clicks:
        return no_update, no_update
    if (refused := refusal("resume the build")) is not None:
        return dbc.Alert(refused, color="warning", className="mt-3 mb-0", id=ids.BUILD_REFUSED), no_update
    resume_build()
    status = read_status(workspace_path())
    return render(status, was_showing=True)[0], False
