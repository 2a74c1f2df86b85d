"""Start a worker for a collection's queue: a local process, or a Celery task with ``REDIS_URL``.

Locally no server is needed: :func:`spawn_local` starts ``python -m core.jobs.worker ROOT``,
which drains the collection's queue and exits (a second worker for the same collection finds
its job running and exits at once). With ``REDIS_URL`` set, :func:`dispatch` sends the Celery
task ``style_atlas.drain`` (:mod:`core.jobs.celery_app`) through Redis instead; the Celery
worker runs the same :func:`core.jobs.runner.drain`, and shares the disk with the web workers
(the workspace and the job table live there).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from core.jobs.store import JobStore

REPO = Path(__file__).resolve().parent.parent.parent


def redis_url() -> str:
    """``REDIS_URL`` ("" when unset: the local queue)."""
    return os.environ.get("REDIS_URL", "").strip()


def spawn_local(root: str | os.PathLike[str], store: JobStore) -> subprocess.Popen[bytes]:
    """A worker process draining ``root``'s queue (reaped by a thread, so none lingers as a zombie)."""
    cmd = [sys.executable, "-m", "core.jobs.worker", str(root), "--db", str(store.path)]
    proc = subprocess.Popen(cmd, cwd=str(REPO), env={**os.environ, "STYLE_ATLAS_BUILD": "1"})
    threading.Thread(target=proc.wait, name=f"reap-job-worker-{proc.pid}", daemon=True).start()
    return proc


def dispatch(root: str | os.PathLike[str], store: JobStore) -> subprocess.Popen[bytes] | str:
    """Get ``root``'s queue drained: the local worker process, or the Celery task id."""
    if redis_url():
        from core.jobs.celery_app import send_drain

        return send_drain(root, store.path)
    return spawn_local(root, store)
