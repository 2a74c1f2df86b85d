"""Catalog commands: ``ingest``, ``embed``, ``info``, ``run``, ``backbones``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

from core import pipeline
from core.cli.common import (
    add_json,
    add_quiet,
    add_ray,
    add_workspace,
    open_workspace,
    print_json,
    progress_bar,
    progress_factory,
    ray_config,
)
from core.cli.options import Option, add_config_options, config_from_args
from core.embed.artifact import load_features
from core.embed.spec import DEFAULT_BACKBONE, REGISTRY
from core.embed.step import EmbedConfig
from core.errors import InvalidInputError
from core.workspace import Workspace

# EmbedConfig fields set by `embed` (defaults read from the config).
EMBED_OPTIONS: dict[str, Option | str] = {
    "backbone": Option("--backbone", f"one of: {', '.join(REGISTRY)}"),
    "n_views": Option("--views", "augmented views per image"),
    "batch_size": "--batch-size",
    "workers": Option("--workers", "image-decoding processes"),
    "runtime": Option("--runtime", "numerics of the forward pass (auto: bf16 where the CPU has bf16 units)"),
}


def register(sub: Any) -> None:
    p = sub.add_parser("ingest", help="add a folder or catalog CSV of images",
                       description="Add the images of a folder (recursive) or a CSV whose 'path' column names "
                                   "images (other columns are kept as metadata). Unusable files are reported "
                                   "and skipped; a re-run adds only what is new.")
    p.add_argument("source", help="folder of images, or a .csv catalog")
    add_workspace(p)
    p.add_argument("--skip-missing", action="store_true", help="skip CSV rows whose file is missing instead of failing")
    add_json(p)
    add_quiet(p)
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("embed", help="compute backbone features (cached)",
                       description="Extract features of every item with a frozen pretrained backbone. Work is "
                                   "cached per item: a re-run computes only what is new.")
    add_workspace(p)
    add_config_options(p, EmbedConfig, EMBED_OPTIONS)
    add_ray(p)
    add_json(p)
    add_quiet(p)
    p.set_defaults(handler=cmd_embed)

    p = sub.add_parser("info", help="what the workspace holds", description="Summarise a workspace.")
    add_workspace(p)
    add_json(p)
    p.set_defaults(handler=cmd_info)

    p = sub.add_parser("run", help="every step, in order (demo catalog without SOURCE)",
                       description="Run every pipeline step in order on SOURCE, or on the bundled demo catalog.")
    p.add_argument("source", nargs="?", help="folder or .csv catalog (default: the bundled demo)")
    add_workspace(p)
    add_ray(p)
    add_json(p)
    add_quiet(p)
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("project", help="compute a 2-D UMAP map",
                       description="Compute the 2-D UMAP map of a features or similarity artifact and store it "
                                   "as projection/<id> (the Explore page draws it).")
    add_workspace(p)
    p.add_argument("--source", default=f"features/{DEFAULT_BACKBONE}",
                   help="features/<backbone> or similarity/<run> (default %(default)s)")
    p.add_argument("--id", default="default", help="projection id (default %(default)s)")
    add_json(p)
    add_quiet(p)
    p.set_defaults(handler=cmd_project)

    p = sub.add_parser("palette", help="compute the colour palettes (search by colour)",
                       description="Compute a few dominant colours of every item from its thumbnail "
                                   "(background masked) and store them as palette/default.")
    add_workspace(p)
    add_json(p)
    add_quiet(p)
    p.set_defaults(handler=cmd_palette)

    p = sub.add_parser("backbones", help="list the feature backbones", description="List the registered backbones.")
    add_json(p)
    p.set_defaults(handler=cmd_backbones)


def _report_skipped(skipped: list[dict[str, str]]) -> None:
    for s in skipped:
        print(f"skipped {s['source']}: {s['reason']}", file=sys.stderr)


def cmd_ingest(args: argparse.Namespace) -> int:
    ws = open_workspace(args, create=True)
    rep = pipeline.ingest(ws, args.source, skip_missing=args.skip_missing,
                          progress=progress_bar("ingest", enabled=not (args.quiet or args.json)))
    n_items = len(ws.items())
    if args.json:
        print_json({**rep.to_dict(), "items": n_items})
    else:
        _report_skipped(rep.skipped)
        print(f"added {len(rep.added)}, already present {rep.existing}, skipped {len(rep.skipped)}; "
              f"catalog holds {n_items} items")
    if not rep.added and not rep.existing:
        raise InvalidInputError(f"no usable image in {args.source} ({len(rep.skipped)} skipped)")
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    if args.n_views < 0 or args.batch_size < 1 or args.workers < 0:
        raise InvalidInputError("--views and --workers must be >= 0 and --batch-size >= 1")
    cfg = replace(config_from_args(EmbedConfig, args, EMBED_OPTIONS), ray=ray_config(args))
    rep = pipeline.embed(ws, args.backbone, config=cfg,
                         progress=progress_bar(f"embed {args.backbone}", enabled=not (args.quiet or args.json)))
    if args.json:
        print_json(vars(rep))
    else:
        also = f" (and {', '.join(rep.siblings)}, same pass)" if rep.siblings else ""
        print(f"{args.backbone}{also}: {rep.total} items, {rep.computed} computed, {rep.cached} from cache "
              f"(runtime {rep.runtime})")
    return 0


def workspace_info(ws: Workspace) -> dict[str, Any]:
    """The summary printed by ``info --json``."""
    items = ws.items()
    features: dict[str, int] = {}
    for name in ws.names("features/"):
        features[name.split("/", 1)[1]] = int(len(load_features(ws, name.split("/", 1)[1]).ids))
    labelled = int(items["label"].notna().sum()) if "label" in items else 0
    return {
        "workspace": str(ws.root),
        "items": int(len(items)),
        "labelled": labelled,
        "labels": items["label"].value_counts().to_dict() if labelled else {},
        "skipped": ws.skipped(),
        "features": features,
        "artifacts": {n: {k: r[k] for k in ("version", "created", "parents")}
                      for n, r in ws.manifest()["artifacts"].items()},
    }


def cmd_info(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    info = workspace_info(ws)
    if args.json:
        print_json(info)
        return 0
    print(f"workspace {info['workspace']}")
    print(f"  items     {info['items']} ({info['labelled']} labelled), skipped {len(info['skipped'])}")
    for name, rec in info["artifacts"].items():
        print(f"  {name:<32} v{rec['version']}  {rec['created']}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    ws = open_workspace(args, create=True)
    config = pipeline.RunConfig(embed=EmbedConfig(ray=ray_config(args)))
    summary = pipeline.run(ws, args.source, config=config, progress_factory=progress_factory(not (args.quiet or args.json)))
    if args.json:
        print_json(summary)
    else:
        _report_skipped(summary["ingest"]["skipped"])
        for step, result in summary.items():
            print(f"{step}: {result if not isinstance(result, dict) else {k: v for k, v in result.items() if k != 'skipped'}}")
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    name = pipeline.project(ws, args.source, args.id, progress=progress_bar("map", enabled=not (args.quiet or args.json)))
    if args.json:
        print_json({"artifact": name, "version": ws.version(name), "source": args.source})
    else:
        print(f"{name} v{ws.version(name)} from {args.source}")
    return 0


def cmd_palette(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    summary = pipeline.palette(ws, progress=progress_bar("palette", enabled=not (args.quiet or args.json)))
    if args.json:
        print_json({"artifact": "palette/default", "version": ws.version("palette/default"), **summary})
    else:
        print(f"palette/default v{ws.version('palette/default')}: {summary['n_items']} items")
    return 0


def cmd_backbones(args: argparse.Namespace) -> int:
    rows = [{"name": s.name, "input_size": s.input_size, "dim": s.dim, "description": s.description}
            for s in REGISTRY.values()]
    if args.json:
        print_json({"backbones": rows})
    else:
        for r in rows:
            print(f"{r['name']:<20} {r['dim']:>5}-d  {r['description']}")
    return 0
