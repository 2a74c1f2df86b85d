"""Long work started from the app: build the missing parts of a workspace in a background job.

The job runs in another process (Dash's DiskcacheManager, or Celery when ``REDIS_URL`` is set):
it reads its inputs from the workspace and writes artifacts there, through ``core.pipeline``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.workspace import Workspace

# (artifact, step label) in pipeline order; each is built by one pipeline function.
STEPS: tuple[tuple[str, str], ...] = (
    ("clusters/default", "clustering"),
    ("similarity/default", "similarity index"),
    ("projection/default", "map of the features"),
)


def missing_steps(ws: Workspace) -> list[tuple[str, str]]:
    """The steps the app can run now: catalog and features present, these artifacts absent."""
    if not ws.has("items") or not ws.has("features/efficientnet-lite0"):
        return []
    return [(name, label) for name, label in STEPS if not ws.has(name)]


def run_missing(root: str | Path, report: Callable[[int, int, str], None]) -> list[str]:
    """Build every missing step of the workspace at ``root``; returns the artifacts built.

    ``report(done, total, label)`` is called as each step advances (progress bar).
    """
    from core import pipeline

    ws = Workspace.open(root)
    todo = missing_steps(ws)
    built: list[str] = []
    for n, (name, label) in enumerate(todo):
        def progress(done: int, total: int, n: int = n, label: str = label) -> None:
            frac = done / total if total else 1.0
            report(int(100 * (n + frac)), 100 * len(todo), label)

        report(100 * n, 100 * len(todo), label)
        if name.startswith("clusters/"):
            pipeline.cluster(ws, progress=progress)
        elif name.startswith("similarity/"):
            pipeline.similarity(ws, progress=progress)
        else:
            pipeline.project(ws, "features/efficientnet-lite0", "default", progress=progress)
        built.append(name)
    report(1, 1, "done")
    return built
