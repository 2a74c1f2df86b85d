"""What a running job's code sees: its parameters, a progress factory, and the cancel flag.

Core functions take ``progress(done, total)`` callbacks; the ones a job hands out record the
step's counts (the worker's heartbeat writes them to the job table) and raise
:class:`Cancelled` once a cancel was asked for, so the work stops between two batches.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.jobs.record import JobRecord


class Cancelled(Exception):  # noqa: N818 - the name says what happened, as the brief's API does
    """Raised from a job's progress callback when its cancel was asked for."""


@dataclass
class Snapshot:
    """The job's progress as the heartbeat writes it."""

    step: str = ""
    done: int = 0
    total: int = 0
    eta_s: float | None = None
    steps_done: list[str] = field(default_factory=list)


class JobContext:
    """One running job: ``record`` as claimed, ``cancel_event`` set by the worker's heartbeat."""

    def __init__(self, record: JobRecord) -> None:
        self.record = record
        self.cancel_event = threading.Event()
        self._lock = threading.Lock()
        self._snap = Snapshot()
        self._step_started = time.monotonic()
        self.changed = threading.Event()  # a new step began: write at once

    @property
    def root(self) -> Path:
        return Path(self.record.root)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.record.params)

    def check(self) -> None:
        """Raise :class:`Cancelled` when a cancel was asked for."""
        if self.cancel_event.is_set():
            raise Cancelled(f"job {self.record.id} was cancelled")

    def progress(self, step: str) -> Callable[[int, int], None]:
        """The progress callback of ``step`` (a :data:`core.pipeline.ProgressFactory`); calling
        this starts the step (the previous one is recorded as done)."""
        self.check()
        with self._lock:
            snap = self._snap
            if snap.step and snap.step != step and snap.step not in snap.steps_done:
                snap.steps_done.append(snap.step)
            self._snap = Snapshot(step=step, steps_done=list(snap.steps_done))
            self._step_started = time.monotonic()
        self.changed.set()

        def report(done: int, total: int) -> None:
            self.check()
            with self._lock:
                if self._snap.step != step:
                    return
                elapsed = time.monotonic() - self._step_started
                eta = elapsed / done * (total - done) if 0 < done <= total else None
                self._snap.done, self._snap.total, self._snap.eta_s = int(done), int(total), eta

        return report

    def finish_step(self) -> None:
        """Record the current step as done (at the end of the job)."""
        with self._lock:
            snap = self._snap
            if snap.step and snap.step not in snap.steps_done:
                snap.steps_done.append(snap.step)

    def snapshot(self) -> Snapshot:
        with self._lock:
            s = self._snap
            return Snapshot(s.step, s.done, s.total, s.eta_s, list(s.steps_done))
