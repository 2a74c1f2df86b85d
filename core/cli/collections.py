"""Collection commands: ``collections`` (list them) and ``import`` (what the browser's import does).

Both read ``STYLE_ATLAS_HOME`` (or ``STYLE_ATLAS_WORKSPACE``) as the app does, so the command
line and the app see the same collections.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core import collections, importer, pipeline
from core.cli.catalog import _report_skipped
from core.cli.common import add_json, add_quiet, print_json, progress_bar, progress_factory
from core.errors import InvalidInputError, StyleAtlasError
from core.workspace import Workspace


def register(sub: Any) -> None:
    p = sub.add_parser("collections", help="list the collections (STYLE_ATLAS_HOME)",
                       description="List the collections the app serves: the folders of STYLE_ATLAS_HOME "
                                   "(default workspaces/), or the one STYLE_ATLAS_WORKSPACE names.")
    add_json(p)
    p.set_defaults(handler=cmd_collections)

    p = sub.add_parser("import", help="import photos into a collection, then build it",
                       description="Import SOURCE into a collection as the browser does: a folder, a ZIP of "
                                   "photos with an optional CSV of metadata, a CSV of files or of URLs, a text "
                                   "file of URLs, or one photo. Refused entries and unusable files are reported "
                                   "and skipped. The collection is created when it does not exist; the missing "
                                   "pipeline steps then run (the features of known photos come from the cache).")
    p.add_argument("source", type=Path, help="folder, .zip, .csv, .txt (URLs) or an image file")
    p.add_argument("--collection", "-c", required=True, metavar="NAME", help="collection name or id")
    p.add_argument("--description", default="", help="description of a collection created now")
    p.add_argument("--no-build", action="store_true", help="only import; build later (python -m core run)")
    add_json(p)
    add_quiet(p)
    p.set_defaults(handler=cmd_import)


def cmd_collections(args: argparse.Namespace) -> int:
    rows = collections.summaries()
    if args.json:
        print_json({"home": str(collections.single_workspace() or collections.home()), "collections": rows})
        return 0
    if not rows:
        print(f"no collections in {collections.home()}")
    for r in rows:
        items = "?" if r["items"] is None else f"{r['items']:,}"
        print(f"{r['slug']:<24} {items:>7} photos  {r['name']}" + (f" — {r['description']}" if r["description"] else ""))
    return 0


def _target(name: str, description: str) -> tuple[collections.Collection, bool]:
    """The collection named ``name`` (slug or name), created when missing; and whether it was."""
    try:
        return collections.find(name), False
    except InvalidInputError:
        if collections.single_workspace() is not None:
            raise
    return collections.create(name, description), True


def _build(ws: Workspace, added: bool, quiet: bool) -> dict[str, Any]:
    """Run every step when photos were added (embedding only the new ones), else the missing ones."""
    todo = [s for s in pipeline.steps() if added or not ws.has(s.artifact)]
    return pipeline.run_steps(ws, todo, progress_factory=progress_factory(not quiet))


def cmd_import(args: argparse.Namespace) -> int:
    coll, created = _target(args.collection, args.description)
    ws = Workspace(coll.root)
    quiet = args.quiet or args.json
    try:
        staged = importer.stage_path(ws.root, args.source)
        summary = importer.ingest_staged(ws, staged, progress=progress_bar("import", enabled=not quiet, unit="img"))
    except StyleAtlasError:
        if created:  # nothing came in: do not leave an empty collection behind
            collections.delete(coll.slug, confirm=coll.slug)
        raise
    built = {} if args.no_build else _build(ws, bool(summary.added), quiet)
    if args.json:
        print_json({"collection": coll.to_dict(), "created": created, **summary.to_dict(),
                    "items": len(ws.items()), "built": sorted(built)})
        return 0
    _report_skipped(summary.skipped)
    print(f"{'created' if created else 'into'} collection {coll.slug!r} ({coll.name}): {summary.text()}; "
          f"it holds {len(ws.items())} photos" + (f"; built {', '.join(built)}" if built else ""))
    return 0
