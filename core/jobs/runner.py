"""The worker side: claim a collection's queued jobs one at a time and run them.

:func:`drain` is what a local worker process (``python -m core.jobs.worker``) and the Celery
task both run. While a job runs, a heartbeat thread writes its progress to the job table every
``HEARTBEAT_S`` and reads the cancel flag; a cancel is honoured between batches (the progress
callbacks raise :class:`~core.jobs.context.Cancelled`), and a step that does not report within
``CANCEL_GRACE_S`` (UMAP's fit) is stopped by ending the worker process: every workspace write
is atomic, so the last complete artifacts stay readable and the job resumes later.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from core.jobs.context import Cancelled, JobContext
from core.jobs.kinds import get_kind, load_plugins
from core.jobs.record import JobRecord
from core.jobs.store import HEARTBEAT_S, JobStore

CANCEL_GRACE_S = 3.0  # after this, a cancel not yet honoured ends the worker process
CANCEL_EXIT_CODE = 75


def _heartbeat(store: JobStore, ctx: JobContext, stop: threading.Event) -> None:
    """Write progress + heartbeat every HEARTBEAT_S (at once on a new step); watch for a cancel."""
    cancel_seen = 0.0
    while not stop.is_set():
        snap = ctx.snapshot()
        try:
            store.update(ctx.record.id, heartbeat=time.time(), step=snap.step, done=snap.done, total=snap.total,
                         eta_s=snap.eta_s, steps_done=snap.steps_done)
            job = store.get(ctx.record.id)
        except Exception:  # noqa: BLE001 - a busy table: try again at the next beat
            job = None
        if job is not None and job.cancel_requested and not ctx.cancel_event.is_set():
            ctx.cancel_event.set()
            cancel_seen = time.monotonic()
        if cancel_seen and time.monotonic() - cancel_seen > CANCEL_GRACE_S and not stop.is_set():
            store.update(ctx.record.id, state="cancelled", cancel_requested=False,
                         error="cancelled mid-step; finished artifacts are kept")
            print(f"style-atlas job {ctx.record.id}: cancelled mid-step, worker exits", file=sys.stderr, flush=True)
            os._exit(CANCEL_EXIT_CODE)
        ctx.changed.wait(timeout=HEARTBEAT_S if not cancel_seen else 0.2)
        ctx.changed.clear()


def run_job(store: JobStore, job: JobRecord) -> JobRecord:
    """Run one claimed job to its end; returns its final record."""
    ctx = JobContext(job)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(store, ctx, stop), name=f"job-{job.id}-heartbeat", daemon=True)
    beat.start()
    fields: dict[str, Any]
    try:
        result = get_kind(job.kind).run(ctx)
        ctx.finish_step()
        fields = {"state": "done", "result": result or {}, "step": "", "done": 0, "total": 0, "eta_s": None}
    except Cancelled:
        fields = {"state": "cancelled", "error": "cancelled; finished artifacts are kept"}
    except Exception as exc:  # noqa: BLE001 - recorded, so the page says why (Ctrl-C: interrupted)
        traceback.print_exc()
        fields = {"state": "failed", "error": f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__}
    finally:
        stop.set()
        ctx.changed.set()
        beat.join()
    snap = ctx.snapshot()
    if fields["state"] != "done":
        fields.update(step=snap.step, done=snap.done, total=snap.total, eta_s=None)
    store.update(job.id, steps_done=snap.steps_done, cancel_requested=False, heartbeat=time.time(), **fields)
    final = store.get(job.id)
    assert final is not None
    return final


def drain(root: str | os.PathLike[str], db: str | os.PathLike[str] | None = None) -> list[JobRecord]:
    """Run the collection's queued jobs in order until none is left (or another worker holds
    it); returns the jobs this call ran."""
    load_plugins()
    store = JobStore(db)
    ran = []
    while (job := store.claim_next(Path(root), os.getpid())) is not None:
        ran.append(run_job(store, job))
    return ran


def run_here(job_id: str, db: str | os.PathLike[str] | None = None, *, poll_s: float = 1.0,
             on_wait: Any = None) -> JobRecord:
    """Run the queue of job ``job_id``'s collection in this process until that job has ended
    (the command line's way through the job table: it never runs beside another worker's job
    on the same collection). Jobs queued before it run first; while another worker holds the
    collection this waits, calling ``on_wait(running_job)`` once per poll. Returns its final record."""
    load_plugins()
    store = JobStore(db)
    while True:
        mine = store.get(job_id)
        if mine is None:
            raise KeyError(job_id)
        if not mine.active:
            return mine
        job = store.claim_next(Path(mine.root), os.getpid())
        if job is not None:
            run_job(store, job)
            continue
        busy = [j for j in store.for_root(mine.root, limit=50) if j.state == "running"]
        if on_wait is not None and busy:
            on_wait(busy[0])
        time.sleep(poll_s)
