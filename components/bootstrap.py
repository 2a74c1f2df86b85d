"""First start: build the demo workspace through the pipeline, in the background while the app
serves (``start_build``) or in the foreground (``ensure_workspace``)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from components.build_status import BuildStatus, StatusWriter, is_building, read_status, write_status
from components.settings import DEFAULT_WORKSPACE, REPO, workspace_path


def missing_artifacts(path: Path) -> list[str]:
    """Artifacts of a complete workspace (:func:`core.pipeline.required_artifacts`) that the
    workspace at ``path`` lacks."""
    from core import pipeline
    from core.errors import StyleAtlasError
    from core.workspace import Workspace

    try:
        ws = Workspace.open(path)
        present = set(ws.names())
    except StyleAtlasError:
        present = set()
    return [name for name, _ in pipeline.required_artifacts() if name not in present]


def _printer(step: str, writer: StatusWriter | None = None) -> Callable[[int, int], None]:
    last = [0.0]
    if writer is not None:
        writer.progress(step, 0, 0)  # the pipeline asks for a step's callback as the step starts

    def progress(done: int, total: int) -> None:
        if writer is not None:
            writer.progress(step, done, total)
        now = time.monotonic()
        if done >= total or now - last[0] > 1.0:
            last[0] = now
            pct = 100.0 * done / total if total else 100.0
            print(f"  {step}: {done}/{total} ({pct:.0f}%)", file=sys.stderr, flush=True)

    return progress


def _allowed(path: Path, force: bool) -> bool:
    return force or path == DEFAULT_WORKSPACE or os.environ.get("STYLE_ATLAS_BUILD") == "1"


def ensure_workspace(path: Path | None = None, *, force: bool = False, source: str | Path | None = None) -> list[str]:
    """Build the demo workspace when it is missing or incomplete; returns what is still missing.

    Only the default demo workspace is built automatically (or any workspace when
    ``STYLE_ATLAS_BUILD=1`` or ``force``): a workspace the user named is theirs, and the
    overview tells them what to run. A file lock makes concurrent starters build once. The
    build's progress goes to stderr and to the status file the app's banner reads
    (:mod:`components.build_status`). ``source``: the catalog to ingest (default: the demo).
    """
    path = Path(path or workspace_path())
    missing = missing_artifacts(path)
    if not missing or not _allowed(path, force):
        return missing
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.build.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            missing = missing_artifacts(path)
            if missing:
                missing = _build(path, missing, source)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return missing


def _build(path: Path, missing: list[str], source: str | Path | None) -> list[str]:
    from core import pipeline
    from core.workspace import Workspace

    print(f"Style Atlas: building the demo workspace at {path} (missing: {', '.join(missing)})",
          file=sys.stderr, flush=True)
    writer = StatusWriter(path, source="" if source is None else str(source))
    try:
        pipeline.run(Workspace(path), source, progress_factory=lambda step: _printer(step, writer))
    except BaseException as exc:
        writer.finish(error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        raise
    missing = missing_artifacts(path)
    if missing:
        writer.finish(error=f"still missing after the pipeline: {', '.join(missing)}")
        print(f"Style Atlas: still missing after the pipeline: {', '.join(missing)}", file=sys.stderr)
    else:
        writer.finish()
    return missing


def start_build(
    path: Path | None = None, *, force: bool = False, source: str | Path | None = None
) -> subprocess.Popen[bytes] | None:
    """Start building the workspace in a child process and return at once (None when there is
    nothing to build, it is not ours to build, or a build is already running).

    The server can then bind its port immediately (Heroku gives a web process 60 s) while the
    pages show the build's progress. The child stays in the server's process group, so Ctrl-C
    in the terminal stops both; a build whose process is gone reads as interrupted, and the
    next start (or the banner's Resume button) carries on from the finished steps and features.
    """
    path = Path(path or workspace_path())
    if not missing_artifacts(path) or not _allowed(path, force):
        return None
    if is_building(path):
        return None
    cmd = [sys.executable, "-m", "components.bootstrap", str(path)]
    if source is not None:
        cmd += ["--source", str(source)]
    env = {**os.environ, "STYLE_ATLAS_BUILD": "1"}
    proc = subprocess.Popen(cmd, cwd=str(REPO), env=env)
    write_status(path, BuildStatus("building", step="starting", started=time.time(), pid=proc.pid,
                                   source="" if source is None else str(source)))
    return proc


def resume_build(path: Path | None = None) -> subprocess.Popen[bytes] | None:
    """Start again the build recorded in the workspace's status file, on the same catalog (it
    resumes from the feature cache); a workspace that is complete meanwhile is marked done."""
    path = Path(path or workspace_path())
    status = read_status(path)
    if status is None or status.state == "building":
        return None
    if not missing_artifacts(path):
        write_status(path, replace(status, state="done", step="", error=""))
        return None
    return start_build(path, force=True, source=status.source or None)


def warm_up_when_built(proc: subprocess.Popen[bytes] | None = None, poll_s: float = 3.0) -> threading.Thread | None:
    """Load the models and index (one forward pass) so the first search is as fast as the rest:
    now when no build is running, else in a thread once the build (``proc``, or the one the
    status file reports) has finished. Returns that thread, or None when it warmed at once."""
    from core.errors import StyleAtlasError
    from core.similarity.query import warm_up
    from core.workspace import Workspace

    path = workspace_path()

    def warm() -> None:
        try:
            warm_up(Workspace.open(path))
        except StyleAtlasError:
            pass  # no (complete) workspace: the overview says what to run

    if proc is None and not is_building(path):
        warm()
        return None

    def wait_then_warm() -> None:
        if proc is not None:
            proc.wait()
        while is_building(path):
            time.sleep(poll_s)
        if not missing_artifacts(path):
            warm()

    thread = threading.Thread(target=wait_then_warm, name="warm-up-after-build", daemon=True)
    thread.start()
    return thread


def prime_app() -> None:
    """Register the app's callbacks and pages now, before a request arrives: Dash does it on its
    first request, and a worker whose first requests come in on several threads at once would
    otherwise answer some of them "Callback function not found" (HTTP 500)."""
    from app import server

    server.test_client().get("/_dash-dependencies")


def main(argv: list[str] | None = None) -> int:
    """``python -m components.bootstrap WS [--source CSV]``: build WS; 0 when complete."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m components.bootstrap", description=main.__doc__)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--source", help="catalog folder or CSV (default: the bundled demo)")
    args = parser.parse_args(argv)
    try:
        missing = ensure_workspace(args.workspace, force=True, source=args.source)
    except Exception as exc:  # noqa: BLE001 - reported in the status file and here
        print(f"Style Atlas: the build failed: {exc}", file=sys.stderr)
        return 1
    status = read_status(args.workspace)
    if not missing and status is not None and status.state == "building":
        # another starter finished it while this process was starting: nothing left to do
        write_status(args.workspace, replace(status, state="done", step=""))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
