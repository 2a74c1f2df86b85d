"""Jobs through Celery on Redis (``REDIS_URL``): the app and the task that drains a queue.

Start a worker beside the web process (same disk)::

    celery -A core.jobs.celery_app worker --loglevel=info

The task runs :func:`core.jobs.runner.drain`, so a job's state, progress, cancel and resume
are the same as on the local queue; Celery carries the "run this collection's queue" message.
Use the default prefork pool: a cancel that a step does not honour in time ends the pool's
child process (Celery starts a new one), never the worker.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from celery import Celery

from core.jobs.runner import drain

TASK = "style_atlas.drain"


@functools.lru_cache(maxsize=4)
def make_app(url: str | None = None) -> Celery:
    """A Celery app on ``url`` (default ``REDIS_URL``) as broker and result backend."""
    url = url or os.environ.get("REDIS_URL", "redis://localhost:6379/0")
    application = Celery("style_atlas", broker=url, backend=url)
    application.conf.update(task_acks_late=False, worker_prefetch_multiplier=1, task_track_started=True,
                            broker_connection_retry_on_startup=True)
    return application


app = make_app()


@app.task(name=TASK)
def drain_task(root: str, db: str) -> list[dict[str, Any]]:
    """Run the queued jobs of the collection at ``root`` (job table ``db``)."""
    return [{"id": j.id, "state": j.state} for j in drain(root, db)]


def send_drain(root: str | os.PathLike[str], db: str | os.PathLike[str]) -> str:
    """Queue the drain task for ``root``; returns the Celery task id."""
    sender = make_app(os.environ.get("REDIS_URL") or None)  # the URL now, not the one at import
    return str(sender.send_task(TASK, args=[str(Path(root).absolute()), str(db)]).id)
