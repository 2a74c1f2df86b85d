"""Pieces shared by the command groups of the CLI."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
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


def progress_factory(enabled: bool = True) -> Callable[[str], Progress]:
    return lambda name: progress_bar(name, enabled=enabled)
