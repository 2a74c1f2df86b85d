"""Board and export commands: ``boards`` (list), ``export`` (a tag, cluster or board to a file)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import export
from core.boards import Boards
from core.cli.common import add_json, add_workspace, print_json
from core.workspace import Workspace


def register(sub: Any) -> None:
    """Add ``boards`` and ``export`` to the CLI."""
    p = sub.add_parser("boards", help="list the boards", description="List the shared boards of a workspace: "
                       "id, name, pieces, last change.")
    add_workspace(p)
    add_json(p)
    p.set_defaults(handler=cmd_boards)

    p = sub.add_parser(
        "export", help="export a tag, cluster or board (csv, zip, pdf, html)",
        description="Write a tag's, a cluster's or a board's items to a file: csv (item id, source, label, "
                    "cluster and its name, tags, note, every catalog column), zip (the original images with that "
                    "CSV inside), pdf (a look-book: cover, then one page per piece) or html (the look-book as one "
                    "self-contained file).")
    add_workspace(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--tag", help="a shared tag")
    what.add_argument("--cluster", help="a cluster number of the clustering run (--run)")
    what.add_argument("--board", help="a board's id or name")
    p.add_argument("--format", required=True, choices=list(export.FORMATS), dest="fmt")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="the file to write")
    p.add_argument("--run", default="default", help="clustering run for clusters and their names (default %(default)s)")
    add_json(p)
    p.set_defaults(handler=cmd_export)


def _ws(args: argparse.Namespace) -> Workspace:
    return Workspace.open(args.workspace)


def cmd_boards(args: argparse.Namespace) -> int:
    boards = Boards(_ws(args).annotations_path).list()
    rows = [{"id": b.board_id, "name": b.name, "items": b.n_items, "note": b.note,
             "updated": datetime.fromtimestamp(b.updated, UTC).isoformat(timespec="seconds")} for b in boards]
    if args.json:
        print_json({"boards": rows})
        return 0
    if not rows:
        print("no boards yet")
    for r in rows:
        print(f"{r['id']:>4}  {r['name']}  ({r['items']} pieces, changed {r['updated']})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    ws = _ws(args)
    if args.tag is not None:
        selection = export.from_tag(ws, args.tag)
    elif args.cluster is not None:
        selection = export.from_cluster(ws, args.cluster, args.run)
    else:
        selection = export.from_board(ws, args.board)
    t0 = time.perf_counter()
    size = export.write(ws, selection, args.fmt, args.out, args.run)
    seconds = time.perf_counter() - t0
    if args.json:
        print_json({"out": str(args.out), "format": args.fmt, "items": len(selection), "bytes": size,
                    "title": selection.title, "seconds": round(seconds, 3)})
    else:
        print(f"wrote {args.out}: {selection.title}, {len(selection)} items, {size / 1e6:.2f} MB", file=sys.stdout)
    return 0
