"""Long work started from the app: build the missing parts of a workspace in a background job.

The job runs in another process (Dash's DiskcacheManager, or Celery when ``REDIS_URL`` is set):
it reads its inputs from the workspace and writes artifacts there. Which steps exist, what they
write and how they run is :mod:`core.pipeline`'s; this module only turns their progress into
one bar.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core import pipeline
from core.workspace import Workspace


def missing_steps(ws: Workspace) -> list[tuple[str, str]]:
    """``(artifact, step label)`` of the steps the app can run now (:func:`core.pipeline.app_steps`)."""
    return [(s.artifact, s.name) for s in pipeline.app_steps(ws)]


def run_missing(root: str | Path, report: Callable[[int, int, str], None]) -> list[str]:
    """Build every missing step of the workspace at ``root``; returns the artifacts built.

    ``report(done, total, label)`` is called as each step advances (progress bar).
    """
    ws = Workspace.open(root)
    todo = pipeline.app_steps(ws)

    def factory(name: str) -> Callable[[int, int], None]:
        n = next(i for i, s in enumerate(todo) if s.name == name)
        report(100 * n, 100 * len(todo), name)

        def progress(done: int, total: int) -> None:
            frac = done / total if total else 1.0
            report(int(100 * (n + frac)), 100 * len(todo), name)

        return progress

    pipeline.run_steps(ws, todo, progress_factory=factory)
    report(1, 1, "done")
    return [s.artifact for s in todo]
