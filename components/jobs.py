"""Long work started from the app: queue a build job of the missing parts of a workspace.

The job runs in a worker process (:mod:`core.jobs`: a local process, or Celery when
``REDIS_URL`` is set): it reads its inputs from the workspace and writes artifacts there, and
the banner (:mod:`components.build_banner`) follows it. Which steps exist, what they write and
how they run is :mod:`core.pipeline`'s.
"""

from __future__ import annotations

from pathlib import Path

import core.jobs as core_jobs
from core import pipeline
from core.jobs import JobRecord
from core.workspace import Workspace


def missing_steps(ws: Workspace) -> list[tuple[str, str]]:
    """``(artifact, step label)`` of the steps the app can run now (:func:`core.pipeline.app_steps`)."""
    return [(s.artifact, s.name) for s in pipeline.app_steps(ws)]


def start(root: str | Path) -> JobRecord | None:
    """Queue a ``build`` job of the workspace's missing steps (None: nothing the app can build)."""
    ws = Workspace.open(root)
    if not pipeline.app_steps(ws):
        return None
    return core_jobs.submit(root, "build", {"steps": [s.name for s in pipeline.app_steps(ws)]})


def step_labels(job: JobRecord) -> list[str]:
    """The steps a build job was queued for."""
    return [str(s) for s in job.params.get("steps", [])] or [job.kind]


def busy(root: str | Path, job_id: str) -> bool:
    """Whether another job runs or waits on the collection before ``job_id``."""
    return any(j.id != job_id for j in core_jobs.active(root))
