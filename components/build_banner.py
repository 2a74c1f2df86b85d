"""The banner above every page while a job works on the collection (the first-start build of
the demo among them).

It polls the collection's job (:func:`core.jobs.latest`, the job table every worker reads)
every two seconds while one runs or waits, and stops polling once there is nothing to report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

import core.jobs as jobs
from components import ids
from components.auth import is_editor, refusal
from components.links import with_collection
from components.settings import workspace_path
from core import collections
from core.jobs import JobRecord

POLL_MS = 2000


def layout() -> html.Div:
    """The banner's slot and its poll timer."""
    return html.Div(
        [dcc.Interval(id=ids.BUILD_POLL, interval=POLL_MS), html.Div(id=ids.BUILD_BANNER)],
        id=ids.BUILD_BANNER_SLOT,
    )


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _what(job: JobRecord) -> str:
    """"Building the demo catalog", "Re-clustering collection 'summer'"."""
    root = Path(job.root)
    subject = "the demo catalog" if root == collections.demo_root() or root.name == collections.DEMO_SLUG else f"collection {root.name!r}"
    try:
        label = jobs.get_kind(job.kind).label
    except Exception:  # noqa: BLE001 - a kind this process does not know: its name will do
        label = job.kind
    return f"{label} {subject}" if job.kind == "build" else f"{label} ({subject})"


def render(job: JobRecord | None, was_showing: bool, queued: int = 0) -> tuple[Any, bool]:
    """Banner children for ``job`` and whether polling should stop.

    ``was_showing``: the banner showed a running job before this poll; a job that has just
    finished then says so (with a reload button) instead of vanishing. ``queued``: jobs
    waiting behind it on the same collection.
    """
    if job is None or (job.state == "done" and not was_showing):
        return None, True
    what = _what(job)
    if job.state == "done":
        ready = "The demo catalog is ready. " if job.kind == "build" else f"{what}: done. "
        return dbc.Alert(
            [
                html.Span(ready, className="fw-bold"),
                html.Span(f"Took {_minutes(job.elapsed)}. " if job.kind != "build" else f"Built in {_minutes(job.elapsed)}. "),
                dbc.Button("Show it", id=ids.BUILD_RELOAD, href=with_collection("/"), external_link=True, color="light", size="sm",
                           className="ms-2"),
            ],
            color="success", className="mt-3 mb-0", id=ids.BUILD_STATE_DONE,
        ), True
    if job.resumable:
        why = job.error or "the building process stopped before it finished."
        if job.state == "interrupted":
            why = "the building process stopped before it finished (killed, or the server restarted)."
        return dbc.Alert(
            [
                html.Span(f"{what} did not finish: ", className="fw-bold"),
                html.Span(why),
                html.Span(" Finished work is kept; the server log has details. "),
                dbc.Button("Resume the build" if job.kind == "build" else "Resume", id=ids.BUILD_RESUME,
                           color="light", size="sm", className="ms-2")
                if is_editor() else None,
            ],
            color="danger", className="mt-3 mb-0", id=ids.BUILD_STATE_FAILED,
        ), True
    if job.state == "queued":
        step, count = "waiting for the job before it on this collection", ""
    else:
        step = job.step or "starting (loading the models)"
        count = f" — {job.done:,} / {job.total:,}" if job.total else ""
        if job.eta_s is not None and job.total and job.done < job.total:
            count += f", about {_minutes(job.eta_s)} left"
    done_steps = f"Done: {', '.join(job.steps_done)}." if job.steps_done else ""
    waiting = f" {queued} more job{'s' if queued > 1 else ''} queued on this collection." if queued else ""
    intro = " (first start, a few minutes; " if job.kind == "build" else " ("
    return dbc.Alert(
        [
            html.Div(
                [
                    html.Span(what, className="fw-bold"),
                    html.Span(f"{intro}{_minutes(max(0.0, job.heartbeat - job.started) if job.started else 0)} so far). "),
                    html.Span(f"Now: {step}{count}", id=ids.BUILD_STEP),
                    dbc.Button("Cancel", id=ids.BUILD_CANCEL, color="light", size="sm", className="ms-2")
                    if is_editor() else None,
                ]
            ),
            dbc.Progress(value=round(100 * job.fraction), className="my-2", style={"height": "6px"}),
            html.Small(done_steps + " Pages fill in as each step lands." + waiting, className="d-block"),
        ],
        color="info", className="mt-3 mb-0", id=ids.BUILD_STATE_BUILDING,
    ), False


def current(path: Path | None = None) -> tuple[JobRecord | None, int]:
    """The collection's job to show and how many wait behind it."""
    path = Path(path or workspace_path())
    active = jobs.active(path)
    return (active[0] if active else jobs.latest(path)), max(0, len(active) - 1)


@callback(
    Output(ids.BUILD_BANNER, "children"),
    Output(ids.BUILD_POLL, "disabled"),
    Input(ids.BUILD_POLL, "n_intervals"),
    State(ids.BUILD_BANNER, "children"),
)
def _poll(_n: int | None, current_children: Any) -> tuple[Any, bool]:
    job, queued = current()
    return render(job, was_showing=bool(current_children), queued=queued)


@callback(
    Output(ids.BUILD_BANNER, "children", allow_duplicate=True),
    Output(ids.BUILD_POLL, "disabled", allow_duplicate=True),
    Input(ids.BUILD_RESUME, "n_clicks"),
    prevent_initial_call=True,
)
def _resume(n_clicks: int | None) -> tuple[Any, Any]:
    """Start the job again (it resumes from the feature cache) and follow it."""
    from components.bootstrap import resume_build

    if not n_clicks:
        return no_update, no_update
    if (refused := refusal("resume the build")) is not None:
        return dbc.Alert(refused, color="warning", className="mt-3 mb-0", id=ids.BUILD_REFUSED), no_update
    resume_build()
    job, queued = current()
    return render(job, was_showing=True, queued=queued)[0], False


@callback(
    Output(ids.BUILD_BANNER, "children", allow_duplicate=True),
    Input(ids.BUILD_CANCEL, "n_clicks"),
    prevent_initial_call=True,
)
def _cancel(n_clicks: int | None) -> Any:
    """Ask the collection's running job to stop (it does within 5 s; finished work is kept)."""
    if not n_clicks:
        return no_update
    if (refused := refusal("cancel the job")) is not None:
        return dbc.Alert(refused, color="warning", className="mt-3 mb-0", id=ids.BUILD_REFUSED)
    job, _ = current()
    if job is not None and job.active:
        jobs.cancel(job.id)
    return no_update
