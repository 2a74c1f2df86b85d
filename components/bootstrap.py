"""First start: the demo collection (``<STYLE_ATLAS_HOME>/demo``, by default ``workspaces/demo``;
or the one workspace ``STYLE_ATLAS_WORKSPACE`` names) is built by a ``build`` job (:mod:`core.jobs`), in a worker
process while the app serves (``start_build``) or in the foreground (``ensure_workspace``).

One mechanism: the banner (:mod:`components.build_banner`) reads the collection's job from the
job table, like every other job's; an interrupted or failed build resumes as the same job, on
the same catalog, from the finished steps and the feature cache.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import core.jobs as jobs
from components.settings import workspace_path
from core import collections
from core.jobs import JobRecord


def first_start_root() -> Path:
    """The workspace the first start looks after: the one ``STYLE_ATLAS_WORKSPACE`` names, else
    the demo collection of ``STYLE_ATLAS_HOME`` (:func:`core.collections.demo_root`)."""
    return collections.single_workspace() or collections.demo_root()


def missing_artifacts(path: Path) -> list[str]:
    """Artifacts of a complete workspace (:func:`core.pipeline.required_artifacts`) that the
    workspace at ``path`` lacks."""
    from core import pipeline
    from core.errors import StyleAtlasError
    from core.workspace import Workspace

    try:
        ws = Workspace.open(path)
        present = set(ws.names())
    except StyleAtlasError:
        present = set()
    return [name for name, _ in pipeline.required_artifacts() if name not in present]


def _allowed(path: Path, force: bool) -> bool:
    """The demo collection is built automatically; a workspace the user named only on request."""
    is_demo = collections.single_workspace() is None and path.absolute() == collections.demo_root()
    return force or is_demo or os.environ.get("STYLE_ATLAS_BUILD") == "1"


def _params(source: str | Path | None) -> dict[str, str]:
    from core.pipeline import DEMO_CATALOG

    return {"source": str(source if source is not None else DEMO_CATALOG)}


def use_bundle(path: Path | None = None) -> bool:
    """Whether the workspace is a serving bundle built at deploy time (:mod:`core.bundle`); if
    so, its ONNX exports become the forward pass's cache (``STYLE_ATLAS_ONNX_CACHE``, unless
    set). Called by the gunicorn master before the workers fork, so they inherit it."""
    from core.bundle import bundle_onnx_cache, is_bundle
    from core.workspace import Workspace

    path = Path(path or workspace_path())
    if not is_bundle(path):
        return False
    os.environ.setdefault("STYLE_ATLAS_ONNX_CACHE", str(bundle_onnx_cache(Workspace.open(path))))
    return True


def start_build(path: Path | None = None, *, force: bool = False, source: str | Path | None = None) -> JobRecord | None:
    """Queue a build job of the workspace and start its worker; returns at once (None when
    there is nothing to build, it is not ours to build, or a job already runs there).

    ``path`` defaults to :func:`first_start_root`. Only the demo collection (``<home>/demo``)
    is built automatically (or any workspace when
    ``STYLE_ATLAS_BUILD=1`` or ``force``): a workspace the user named is theirs, and the
    overview tells them what to run. A build that stopped (interrupted, failed, cancelled)
    is resumed instead of started afresh. ``source``: the catalog (default: the bundled demo).
    """
    path = Path(path or first_start_root())
    if not missing_artifacts(path) or not _allowed(path, force):
        return None
    if jobs.active(path):
        return None
    last = jobs.latest(path)
    if last is not None and last.kind == "build" and last.resumable:
        return jobs.resume(last.id)
    return jobs.submit(path, "build", _params(source))


def resume_build(path: Path | None = None) -> JobRecord | None:
    """Start again the collection's last job when it stopped (it resumes from the feature cache)."""
    path = Path(path or workspace_path())
    last = jobs.latest(path)
    if last is None or not last.resumable:
        return None
    return jobs.resume(last.id)


def ensure_workspace(path: Path | None = None, *, force: bool = False, source: str | Path | None = None) -> list[str]:
    """Build the workspace in this process (a build job drained here) when it is missing or
    incomplete; returns what is still missing. Same rules as :func:`start_build`."""
    from core.jobs.runner import drain

    path = Path(path or first_start_root())
    missing = missing_artifacts(path)
    if not missing or not _allowed(path, force):
        return missing
    if not jobs.active(path):
        jobs.submit(path, "build", _params(source), start=False)
    for job in drain(path):
        if job.state == "failed":
            print(f"Style Atlas: the build failed: {job.error}", file=sys.stderr)
    return missing_artifacts(path)


def building(path: Path | None = None) -> bool:
    """Whether a job runs (or waits) on the workspace now."""
    return bool(jobs.active(Path(path or workspace_path())))


def warm_up_when_built(job: JobRecord | None = None, poll_s: float = 3.0) -> threading.Thread | None:
    """Load the models and index (one forward pass) so the first search is as fast as the rest:
    now when no job runs on the workspace, else in a thread once it has ended. Returns that
    thread, or None when it warmed at once."""
    from core.errors import StyleAtlasError
    from core.similarity.query import warm_up
    from core.workspace import Workspace

    path = first_start_root()

    def warm() -> None:
        try:
            warm_up(Workspace.open(path))
        except StyleAtlasError:
            pass  # no (complete) workspace: the overview says what to run

    if job is None and not building(path):
        warm()
        return None

    def wait_then_warm() -> None:
        while building(path):
            time.sleep(poll_s)
        if not missing_artifacts(path):
            warm()

    thread = threading.Thread(target=wait_then_warm, name="warm-up-after-build", daemon=True)
    thread.start()
    return thread


def prime_app() -> None:
    """Register the app's callbacks and pages now, before a request arrives: Dash does it on its
    first request, and a worker whose first requests come in on several threads at once would
    otherwise answer some of them "Callback function not found" (HTTP 500)."""
    from app import server

    server.test_client().get("/_dash-dependencies")

