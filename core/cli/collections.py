"""Collection commands: ``collections`` (list them) and ``import`` (what the browser's import does).

Both read ``STYLE_ATLAS_HOME`` (or ``STYLE_ATLAS_WORKSPACE``) as the app does, so the command
line and the app see the same collections.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core import collections, importer, pipeline
from core.cli.catalog import _report_skipped
from core.cli.common import add_json, add_quiet, follow_job, print_json
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
                                   "and skipped. The collection is created when it does not exist. The import "
                                   "runs as the collection's job (core.jobs), as the app's does: it waits for a "
                                   "job already running there, then the new photos are grown into the clusters, "
                                   "map and index (a new collection is built).")
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


def _waiting(quiet: bool) -> Any:
    """What to say (once) while another worker's job holds the collection."""
    said: set[str] = set()

    def on_wait(job: Any) -> None:
        if not quiet and job.id not in said:
            said.add(job.id)
            print(f"waiting for the {job.kind} job running on this collection ({job.step or 'starting'})…",
                  file=sys.stderr, flush=True)

    return on_wait


def cmd_import(args: argparse.Namespace) -> int:
    """Stage SOURCE here (checked before any work), then run the collection's ``import`` job
    through :mod:`core.jobs` in this process: it waits for a job another worker (the app)
    runs on the collection, and prints the job's progress."""
    import core.jobs as jobs
    from core.jobs.runner import run_here

    coll, created = _target(args.collection, args.description)
    ws = Workspace(coll.root)
    quiet = args.quiet or args.json
    try:
        staged = importer.stage_path(ws.root, args.source)
        job = jobs.submit(ws.root, "import", {"staged_dir": str(staged), "build": not args.no_build}, start=False)
    except StyleAtlasError:
        if created:  # nothing came in: do not leave an empty collection behind
            collections.delete(coll.slug, confirm=coll.slug)
        raise
    try:
        with follow_job(job.id, enabled=not quiet):
            final = run_here(job.id, on_wait=_waiting(quiet))
    except KeyboardInterrupt:
        print(f"interrupted: job {job.id} stopped; finished work is kept and it resumes from the Collections page",
              file=sys.stderr)
        return 130
    if final.state != "done":
        if created and not Workspace(coll.root).has(pipeline.ITEMS):
            collections.delete(coll.slug, confirm=coll.slug)
        raise InvalidInputError(f"the import job {final.state}: {final.error or 'no reason given'}")
    summary = importer.ImportSummary.from_dict(final.result.get("import", {}))
    built = sorted(k for k in final.result if k not in ("import", "ingest"))
    if args.json:
        print_json({"collection": coll.to_dict(), "created": created, **summary.to_dict(), "job": job.id,
                    "items": len(ws.items()), "built": built})
        return 0
    _report_skipped(summary.skipped)
    print(f"{'created' if created else 'into'} collection {coll.slug!r} ({coll.name}): {summary.text()}; "
          f"it holds {len(ws.items())} photos" + (f"; built {', '.join(built)}" if built else ""))
    return 0
