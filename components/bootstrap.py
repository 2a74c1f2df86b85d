"""First start: build the demo workspace through the pipeline before the app serves."""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from components.overview import EXPECTED
from components.settings import DEFAULT_WORKSPACE, workspace_path


def missing_artifacts(path: Path) -> list[str]:
    """Names from :data:`components.overview.EXPECTED` that the workspace at ``path`` lacks."""
    from core.errors import StyleAtlasError
    from core.workspace import Workspace

    try:
        ws = Workspace.open(path)
        present = set(ws.names())
    except StyleAtlasError:
        return [name for name, _ in EXPECTED]
    return [name for name, _ in EXPECTED if name not in present]


def _printer(step: str) -> Callable[[int, int], None]:
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] > 1.0:
            last[0] = now
            pct = 100.0 * done / total if total else 100.0
            print(f"  {step}: {done}/{total} ({pct:.0f}%)", file=sys.stderr, flush=True)

    return progress


def ensure_workspace(path: Path | None = None, *, force: bool = False) -> list[str]:
    """Build the demo workspace when it is missing or incomplete; returns what is still missing.

    Only the default demo workspace is built automatically (or any workspace when
    ``STYLE_ATLAS_BUILD=1`` or ``force``): a workspace the user named is theirs, and the
    overview tells them what to run. A file lock makes concurrent starters (several gunicorn
    workers) build once.
    """
    path = Path(path or workspace_path())
    missing = missing_artifacts(path)
    allowed = force or path == DEFAULT_WORKSPACE or os.environ.get("STYLE_ATLAS_BUILD") == "1"
    if not missing or not allowed:
        return missing
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.build.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            missing = missing_artifacts(path)
            if missing:
                from core import pipeline
                from core.workspace import Workspace

                print(f"Style Atlas: building the demo workspace at {path} (missing: {', '.join(missing)})",
                      file=sys.stderr, flush=True)
                pipeline.run(Workspace(path), None, progress_factory=_printer)
                missing = missing_artifacts(path)
                if missing:
                    print(f"Style Atlas: still missing after the pipeline: {', '.join(missing)}", file=sys.stderr)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return missing
