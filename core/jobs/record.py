"""One job's state as every web worker reads it: :class:`JobRecord`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
"""queued: waits for the collection's running job; running: a worker holds it (alive);
done / failed / cancelled: it ended; interrupted: its worker died (kill -9, restart) — resumable."""
ACTIVE = ("queued", "running")
RESUMABLE = ("failed", "cancelled", "interrupted")


@dataclass(frozen=True)
class JobRecord:
    """A job on one collection (workspace ``root``).

    kind : the registered job kind ("build", "grow", "recluster", "import").
    step : the pipeline step under way ("embed efficientnet-lite0"); done / total: its counts.
    eta_s : estimated seconds left in the step (None until the step has a rate).
    steps_done : the steps finished, in order. error : why it failed.
    created / updated / started / heartbeat : Unix times. pid, host : the worker holding it.
    cancel_requested : a cancel was asked for and the worker has not stopped yet.
    result : the kind's summary once done. attempt : 1, then +1 each resume.
    """

    id: str
    root: str
    kind: str
    state: str
    params: dict[str, Any] = field(default_factory=dict)
    step: str = ""
    done: int = 0
    total: int = 0
    eta_s: float | None = None
    steps_done: list[str] = field(default_factory=list)
    error: str = ""
    created: float = 0.0
    updated: float = 0.0
    started: float = 0.0
    heartbeat: float = 0.0
    pid: int = 0
    host: str = ""
    cancel_requested: bool = False
    result: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1

    @property
    def active(self) -> bool:
        """Queued or running."""
        return self.state in ACTIVE

    @property
    def resumable(self) -> bool:
        """Failed, cancelled or interrupted: :func:`core.jobs.resume` starts it again."""
        return self.state in RESUMABLE

    @property
    def fraction(self) -> float:
        """Progress of the current step in [0, 1]."""
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def elapsed(self) -> float:
        """Seconds since the job started (until its last update once it has ended)."""
        if not self.started:
            return 0.0
        return max(0.0, self.updated - self.started)

    @property
    def workspace(self) -> Path:
        return Path(self.root)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``--json`` output, Celery arguments)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


_JSON_FIELDS = ("params", "steps_done", "result")
COLUMNS = tuple(JobRecord.__dataclass_fields__)


def from_row(row: tuple[Any, ...]) -> JobRecord:
    """A record from a ``SELECT <COLUMNS>`` row of the job table."""
    values = dict(zip(COLUMNS, row))
    for key in _JSON_FIELDS:
        values[key] = json.loads(values[key] or ("[]" if key == "steps_done" else "{}"))
    values["cancel_requested"] = bool(values["cancel_requested"])
    return JobRecord(**values)
