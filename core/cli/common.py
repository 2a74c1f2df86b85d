"""Pieces shared by the command groups of the CLI."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from core.progress import Progress
from core.workspace import Workspace


def add_workspace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", "-w", required=True, type=Path, metavar="WS",
                        help="workspace folder (created by ingest/run)")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def add_ray(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                        help="run the forward passes on Ray: a local instance without ADDRESS, or 'auto', "
                             "'host:6379', 'ray://host:10001' (needs requirements-ray.txt)")
    parser.add_argument("--ray-workers", type=int, default=None, metavar="N",
                        help="Ray actors, one model each (default: one per CPU of the cluster)")


def ray_config(args: argparse.Namespace) -> Any:
    """The :class:`core.ray_config.RayConfig` that ``--ray`` asks for, or None."""
    if args.ray is None:
        return None
    from core.ray_config import RayConfig

    return RayConfig(address=args.ray or None, workers=args.ray_workers)


def open_workspace(args: argparse.Namespace, *, create: bool = False) -> Workspace:
    return Workspace(args.workspace, create=create)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def progress_bar(desc: str, *, enabled: bool = True, unit: str | None = None) -> Progress:
    """A tqdm bar on stderr driven by ``progress(done, total)``; None when disabled."""
    if not enabled:
        return None
    from tqdm import tqdm

    unit = unit or ("img" if desc.startswith(("ingest", "embed")) else "step")

    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=True)
        b = bar["bar"]
        b.total = total
        b.n = done
        b.refresh()
        if done >= total:
            b.close()

    return update


@contextlib.contextmanager
def follow_job(job_id: str, *, enabled: bool = True, poll_s: float = 0.5) -> Iterator[None]:
    """Progress bars on stderr for job ``job_id`` while the block runs, one per step, read from
    the job table (the job may run here or in another worker process)."""
    if not enabled:
        yield
        return
    import core.jobs as jobs

    stop = threading.Event()

    def watch() -> None:
        step, bar = "", None
        while True:
            job = jobs.get(job_id)
            if job is not None and job.step and job.step != step:
                if bar is not None:
                    bar(1, 1)
                step, bar = job.step, progress_bar(job.step)
            if job is not None and bar is not None and job.total and job.step == step:
                bar(min(job.done, job.total), job.total)
            if stop.wait(poll_s):
                break

    thread = threading.Thread(target=watch, name=f"follow-job-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def progress_factory(enabled: bool = True) -> Callable[[str], Progress]:
    return lambda name: progress_bar(name, enabled=enabled)
