"""Long work as jobs: one mechanism for the first-start build, imports, growing and re-clustering.

A job runs :mod:`core.pipeline` steps in a worker process, never in a request. Its state lives
in a SQLite job table every web worker reads (:mod:`core.jobs.store`); one job per collection
runs at a time and the others queue. Progress per step (counts, ETA) is written at least every
second; :func:`cancel` stops it between batches (within ``CANCEL_GRACE_S`` + a heartbeat at
most), leaving the last complete artifacts readable; a job whose worker died reads as
``interrupted`` and :func:`resume` carries on from the feature cache. Locally a worker process
is spawned per queue; with ``REDIS_URL`` the queue is drained by a Celery worker.

Modules: ``record`` (JobRecord), ``store`` (the table), ``kinds`` (the registry of job kinds),
``context`` (progress + cancel as a job sees them), ``runner`` (claim and run), ``dispatch``
(local process or Celery), ``worker`` (the local process), ``celery_app`` (the Celery task).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core.jobs.context import Cancelled, JobContext
from core.jobs.dispatch import dispatch
from core.jobs.kinds import JobKind, get_kind, kinds, load_plugins, register
from core.jobs.record import STATES, JobRecord
from core.jobs.store import JobStore

__all__ = ["STATES", "Cancelled", "JobContext", "JobKind", "JobRecord", "JobStore", "active", "cancel", "get",
           "history", "kinds", "latest", "register", "resume", "submit"]

MAX_QUEUED = 5  # jobs waiting per collection; more are refused


def submit(root: str | os.PathLike[str], kind: str, params: dict[str, Any] | None = None, *,
           db: str | os.PathLike[str] | None = None, start: bool = True) -> JobRecord:
    """Queue a job of ``kind`` on the collection at ``root`` and get a worker on it (a job
    already running there keeps going; this one waits for it). ``start=False`` only queues."""
    from core.errors import BusyError

    load_plugins()
    get_kind(kind)  # an unknown kind is refused before anything is queued
    store = JobStore(db)
    waiting = [j for j in store.for_root(root, limit=50) if j.state == "queued"]
    if len(waiting) >= MAX_QUEUED:
        raise BusyError(f"{len(waiting)} jobs already wait on this collection; cancel one or try later")
    record = store.insert(root, kind, dict(params or {}))
    if start:
        dispatch(root, store)
    return record


def get(job_id: str, *, db: str | os.PathLike[str] | None = None) -> JobRecord | None:
    """The job ``job_id`` (None if unknown)."""
    return JobStore(db).get(job_id)


def history(root: str | os.PathLike[str], limit: int = 20, *, db: str | os.PathLike[str] | None = None) -> list[JobRecord]:
    """The collection's jobs, newest first."""
    return JobStore(db).for_root(root, limit)


def latest(root: str | os.PathLike[str], *, db: str | os.PathLike[str] | None = None) -> JobRecord | None:
    """What the collection's banner shows: its running job, else its newest one (None: never)."""
    jobs = JobStore(db).for_root(root, limit=50)
    running = [j for j in jobs if j.state == "running"]
    return running[0] if running else (jobs[0] if jobs else None)


def active(root: str | os.PathLike[str], *, db: str | os.PathLike[str] | None = None) -> list[JobRecord]:
    """The collection's running and queued jobs, oldest first."""
    return [j for j in reversed(JobStore(db).for_root(root, limit=50)) if j.active]


def cancel(job_id: str, *, db: str | os.PathLike[str] | None = None) -> JobRecord | None:
    """Cancel a job: a queued one at once, a running one between its batches."""
    return JobStore(db).request_cancel(job_id)


def resume(job_id: str, *, db: str | os.PathLike[str] | None = None, start: bool = True) -> JobRecord:
    """Queue a failed, cancelled or interrupted job again (it resumes from the finished
    artifacts and the feature cache) and get a worker on it."""
    store = JobStore(db)
    record = store.requeue(job_id)
    if start:
        dispatch(Path(record.root), store)
    return record
