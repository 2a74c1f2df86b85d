"""``bundle``: build a serving bundle at deploy time (:mod:`core.bundle`)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from core.bundle import bundle_onnx_cache, make_bundle
from core.cli.common import add_json, add_quiet, add_workspace, open_workspace, print_json, progress_factory


def register(sub: Any) -> None:
    p = sub.add_parser("bundle", help="build a serving bundle (the platform's build step)",
                       description="Run the pipeline steps whose artifacts are missing (ingesting SOURCE, or the "
                                   "bundled demo, when the workspace has no items), warm the query path, and "
                                   "remove what only building needs, so the web process serves it at once.")
    p.add_argument("source", nargs="?", help="folder or .csv catalog (default: the bundled demo)")
    add_workspace(p)
    add_json(p)
    add_quiet(p)
    p.set_defaults(handler=cmd_bundle)


def cmd_bundle(args: argparse.Namespace) -> int:
    ws = open_workspace(args, create=True)
    os.environ.setdefault("STYLE_ATLAS_ONNX_CACHE", str(bundle_onnx_cache(ws)))  # the exports travel with it
    report = make_bundle(ws, args.source, progress_factory=progress_factory(not (args.quiet or args.json)))
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"bundle {ws.root}: {report.bytes / 2**20:.1f} MiB, {len(report.artifacts)} artifacts, "
              f"steps run: {', '.join(report.steps_run) or 'none'}, removed: {len(report.removed)} paths, "
              f"{report.seconds:.0f} s")
    return 0
