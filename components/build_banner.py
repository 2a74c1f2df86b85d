"""The banner above every page while the workspace is being built on first start.

It polls the build's status file (:mod:`components.build_status`) every two seconds while a
build runs, and stops polling once there is nothing to report.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from components.auth import is_editor, refusal
from components.build_status import BuildStatus, read_status
from components.settings import workspace_path

POLL_MS = 2000


def layout() -> html.Div:
    """The banner's slot and its poll timer."""
    return html.Div(
        [dcc.Interval(id="build-poll", interval=POLL_MS), html.Div(id="build-banner")],
        id="build-banner-slot",
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
                dbc.Button("Show it", id="build-reload", href="/", external_link=True, color="light", size="sm",
                           className="ms-2"),
            ],
            color="success", className="mt-3 mb-0", id="build-state-done",
        ), True
    if status.state in ("failed", "interrupted"):
        why = status.error or "the building process stopped before it finished."
        return dbc.Alert(
            [
                html.Span("Building the demo catalog did not finish: ", className="fw-bold"),
                html.Span(why),
                html.Span(" Finished work is kept; the server log has details. "),
                dbc.Button("Resume the build", id="build-resume", color="light", size="sm", className="ms-2")
                if is_editor() else None,
            ],
            color="danger", className="mt-3 mb-0", id="build-state-failed",
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
                    html.Span(f"Now: {step}{count}", id="build-step"),
                ]
            ),
            dbc.Progress(value=round(100 * status.fraction), className="my-2", style={"height": "6px"}),
            html.Small(done_steps + " Pages fill in as each step lands.", className="d-block"),
        ],
        color="info", className="mt-3 mb-0", id="build-state-building",
    ), False


@callback(
    Output("build-banner", "children"),
    Output("build-poll", "disabled"),
    Input("build-poll", "n_intervals"),
    State("build-banner", "children"),
)
def _poll(_n: int | None, current: Any) -> tuple[Any, bool]:
    return render(read_status(workspace_path()), was_showing=bool(current))


@callback(
    Output("build-banner", "children", allow_duplicate=True),
    Output("build-poll", "disabled", allow_duplicate=True),
    Input("build-resume", "n_clicks"),
    prevent_initial_call=True,
)
def _resume(n_clicks: int | None) -> tuple[Any, Any]:
    """Start the build again (it resumes from the feature cache) and follow it."""
    from components.bootstrap import resume_build

    if not n_clicks:
        return no_update, no_update
    if (refused := refusal("resume the build")) is not None:
        return dbc.Alert(refused, color="warning", className="mt-3 mb-0", id="build-refused"), no_update
    resume_build()
    status = read_status(workspace_path())
    return render(status, was_showing=True)[0], False
