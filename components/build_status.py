"""Where the first-start build of a workspace stands, in a small JSON file beside it.

The build runs in its own process (see :mod:`components.bootstrap`) while the app already
serves; it writes ``<parent>/.<name>.build.json`` and every page's banner reads it, so a
visitor of a freshly deployed demo sees progress instead of a dead port.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

STATES = ("building", "done", "failed", "interrupted")


@dataclass(frozen=True)
class BuildStatus:
    """One snapshot of a build.

    state : "building", "done", "failed", or "interrupted" (the building process is gone).
    step : the pipeline step under way ("embed efficientnet-lite0"); done / total: its progress.
    steps_done : the steps finished, in order. error : why it failed. source : the catalog.
    """

    state: str
    step: str = ""
    done: int = 0
    total: int = 0
    steps_done: list[str] = field(default_factory=list)
    started: float = 0.0
    updated: float = 0.0
    error: str = ""
    pid: int = 0
    source: str = ""  # the catalog being built ("": the bundled demo), so a resume builds the same

    @property
    def fraction(self) -> float:
        """Progress of the current step in [0, 1]."""
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def elapsed(self) -> float:
        """Seconds since the build started (until its last update once it has ended)."""
        if not self.started:
            return 0.0
        end = time.time() if self.state == "building" or not self.updated else self.updated
        return max(0.0, end - self.started)


def status_path(workspace: str | os.PathLike[str]) -> Path:
    """The status file of the build of ``workspace``: ``<parent>/.<name>.build.json``."""
    ws = Path(workspace)
    return ws.parent / f".{ws.name}.build.json"


def write_status(workspace: str | os.PathLike[str], status: BuildStatus) -> None:
    """Replace the status file atomically (readers never see half a file)."""
    path = status_path(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(replace(status, updated=time.time()))))
    os.replace(tmp, path)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def read_status(workspace: str | os.PathLike[str]) -> BuildStatus | None:
    """The last status written for ``workspace``, or None when no build was recorded.

    A "building" status whose process no longer exists reads as "interrupted" (the server
    was stopped mid-build; the next start resumes from the feature cache).
    """
    try:
        raw: dict[str, Any] = json.loads(status_path(workspace).read_text())
        status = BuildStatus(**{k: raw[k] for k in BuildStatus.__dataclass_fields__ if k in raw})
    except (OSError, ValueError, TypeError):
        return None
    if status.state not in STATES:
        return None
    if status.state == "building" and not _alive(status.pid):
        return replace(status, state="interrupted")
    return status


def is_building(workspace: str | os.PathLike[str]) -> bool:
    """Whether a build of ``workspace`` is running now (its process alive)."""
    status = read_status(workspace)
    return status is not None and status.state == "building"


class StatusWriter:
    """Progress callbacks that keep the status file current (at most once a second per step)."""

    def __init__(self, workspace: str | os.PathLike[str], source: str = "") -> None:
        self.workspace = Path(workspace)
        self.status = BuildStatus("building", step="starting", started=time.time(), pid=os.getpid(), source=source)
        self._last = 0.0
        write_status(self.workspace, self.status)

    def progress(self, step: str, done: int, total: int) -> None:
        """Record ``done`` of ``total`` in ``step``; a new step closes the previous one."""
        steps = list(self.status.steps_done)
        if step != self.status.step and self.status.step not in ("", "starting"):
            steps.append(self.status.step)
        changed = step != self.status.step
        self.status = replace(self.status, step=step, done=done, total=total, steps_done=steps)
        now = time.monotonic()
        if changed or done >= total or now - self._last > 1.0:
            self._last = now
            write_status(self.workspace, self.status)

    def finish(self, error: str = "") -> None:
        """Mark the build done (or failed with ``error``)."""
        steps = list(self.status.steps_done)
        if not error and self.status.step not in ("", "starting") and self.status.step not in steps:
            steps.append(self.status.step)
        state = "failed" if error else "done"
        self.status = replace(self.status, state=state, error=error, steps_done=steps,
                              step="" if not error else self.status.step)
        write_status(self.workspace, self.status)
