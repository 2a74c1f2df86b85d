"""The job table: one SQLite file every web worker and job worker reads and writes.

Where: ``STYLE_ATLAS_JOBS_DB`` if set, else ``jobs.sqlite`` in ``STYLE_ATLAS_HOME`` (the folder
of collections; default ``workspaces/`` in the repository). Each call opens a short-lived WAL
connection (:mod:`core.sqlite_store`), so several gunicorn workers see the same state. A
running job whose worker is gone (its pid is dead on this host, or its heartbeat is older than
``STALE_S``) reads as ``interrupted``.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.errors import InvalidInputError
from core.jobs.record import ACTIVE, COLUMNS, JobRecord, from_row
from core.sqlite_store import connect, transaction

REPO = Path(__file__).resolve().parent.parent.parent
STALE_S = 15.0  # a running job without a heartbeat for this long is interrupted
HEARTBEAT_S = 1.0  # how often a worker writes its job's progress and heartbeat

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, root TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}', step TEXT NOT NULL DEFAULT '', done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0, eta_s REAL, steps_done TEXT NOT NULL DEFAULT '[]',
    error TEXT NOT NULL DEFAULT '', created REAL NOT NULL, updated REAL NOT NULL,
    started REAL NOT NULL DEFAULT 0, heartbeat REAL NOT NULL DEFAULT 0, pid INTEGER NOT NULL DEFAULT 0,
    host TEXT NOT NULL DEFAULT '', cancel_requested INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT '{}', attempt INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS jobs_by_root ON jobs (root, created);
"""
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM jobs"


def db_path() -> Path:
    """The job table's file (see the module docstring)."""
    env = os.environ.get("STYLE_ATLAS_JOBS_DB", "").strip()
    if env:
        return Path(env).expanduser().absolute()
    home = os.environ.get("STYLE_ATLAS_HOME", "").strip()
    base = Path(home).expanduser().absolute() if home else REPO / "workspaces"
    return base / "jobs.sqlite"


def root_key(root: str | os.PathLike[str]) -> str:
    """The collection's key in the table: its absolute path."""
    return str(Path(root).expanduser().absolute())


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped by its parent) is gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def effective(record: JobRecord, now: float | None = None) -> JobRecord:
    """``record`` with a dead worker's running job shown as interrupted."""
    if record.state != "running":
        return record
    now = time.time() if now is None else now
    dead = record.host == socket.gethostname() and not _alive(record.pid)
    if dead or now - max(record.heartbeat, record.started) > STALE_S:
        why = "its worker process stopped (killed, or the server restarted) before it finished"
        return replace(record, state="interrupted", error=record.error or why)
    return record


class JobStore:
    """The job table at ``path`` (default :func:`db_path`)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else db_path()

    # -- reading -------------------------------------------------------------------------
    def get(self, job_id: str) -> JobRecord | None:
        with connect(self.path, SCHEMA) as con:
            row = con.execute(f"{_SELECT} WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else effective(from_row(row))

    def for_root(self, root: str | os.PathLike[str], limit: int = 20) -> list[JobRecord]:
        """The collection's jobs, newest first."""
        with connect(self.path, SCHEMA) as con:
            rows = con.execute(f"{_SELECT} WHERE root = ? ORDER BY created DESC, rowid DESC LIMIT ?",
                               (root_key(root), int(limit))).fetchall()
        return [effective(from_row(r)) for r in rows]

    # -- writing -------------------------------------------------------------------------
    def insert(self, root: str | os.PathLike[str], kind: str, params: dict[str, Any]) -> JobRecord:
        now = time.time()
        record = JobRecord(id=uuid.uuid4().hex[:16], root=root_key(root), kind=kind, state="queued",
                           params=dict(params), created=now, updated=now)
        values = _values(record)
        with transaction(self.path, SCHEMA) as con:
            con.execute(f"INSERT INTO jobs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                        tuple(values.values()))
        return record

    def update(self, job_id: str, **fields: Any) -> None:
        """Set ``fields`` of one job (``updated`` is set too)."""
        fields["updated"] = time.time()
        values = _values_of(fields)
        with transaction(self.path, SCHEMA) as con:
            con.execute(f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                        (*values.values(), job_id))

    def claim_next(self, root: str | os.PathLike[str], pid: int) -> JobRecord | None:
        """Mark the collection's oldest queued job running for worker ``pid`` and return it;
        None when its queue is empty or another live worker runs one of its jobs."""
        key = root_key(root)
        now = time.time()
        with transaction(self.path, SCHEMA) as con:
            rows = con.execute(f"{_SELECT} WHERE root = ? AND state IN {ACTIVE} ORDER BY created, rowid",
                               (key,)).fetchall()
            records = [effective(from_row(r), now) for r in rows]
            for r in records:
                if r.state == "interrupted":  # make it so in the table: it no longer blocks the queue
                    con.execute("UPDATE jobs SET state = ?, error = ?, updated = ? WHERE id = ?",
                                ("interrupted", r.error, now, r.id))
            if any(r.state == "running" for r in records):
                return None
            queued = [r for r in records if r.state == "queued"]
            if not queued:
                return None
            job = replace(queued[0], state="running", pid=pid, host=socket.gethostname(), started=now,
                          heartbeat=now, updated=now, step="", done=0, total=0, eta_s=None, error="")
            values = _values_of({k: getattr(job, k) for k in ("state", "pid", "host", "started", "heartbeat",
                                                             "updated", "step", "done", "total", "eta_s", "error")})
            con.execute(f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                        (*values.values(), job.id))
        return job

    def request_cancel(self, job_id: str) -> JobRecord | None:
        """A queued job is cancelled at once; a running one is asked to stop (its worker
        honours it between batches). Returns the record after the change."""
        with transaction(self.path, SCHEMA) as con:
            row = con.execute(f"{_SELECT} WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            job = effective(from_row(row))
            now = time.time()
            if job.state == "queued":
                con.execute("UPDATE jobs SET state = 'cancelled', updated = ? WHERE id = ?", (now, job_id))
            elif job.state == "running":
                con.execute("UPDATE jobs SET cancel_requested = 1, updated = ? WHERE id = ?", (now, job_id))
        return self.get(job_id)

    def requeue(self, job_id: str) -> JobRecord:
        """Put a failed, cancelled or interrupted job back in its collection's queue."""
        job = self.get(job_id)
        if job is None:
            raise InvalidInputError(f"no job {job_id!r}")
        if not job.resumable:
            raise InvalidInputError(f"job {job_id} is {job.state}; only a failed, cancelled or interrupted job resumes")
        now = time.time()
        self.update(job_id, state="queued", cancel_requested=False, error="", attempt=job.attempt + 1,
                    created=now, pid=0)
        record = self.get(job_id)
        assert record is not None
        return record


def _values(record: JobRecord) -> dict[str, Any]:
    return _values_of({k: getattr(record, k) for k in COLUMNS})


def _values_of(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(COLUMNS)
    if unknown:
        raise InvalidInputError(f"unknown job fields: {sorted(unknown)}")
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key in ("params", "steps_done", "result"):
            value = json.dumps(value)
        elif key == "cancel_requested":
            value = int(bool(value))
        out[key] = value
    return out
