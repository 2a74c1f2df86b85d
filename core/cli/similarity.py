"""Similarity commands: ``similarity`` (train + index), ``serving`` (ONNX query models), ``similar`` (query),
``directions``."""

from __future__ import annotations

import argparse
from typing import Any

from core.cli.common import add_json, add_quiet, add_workspace, open_workspace, print_json, progress_bar
from core.cli.options import Option, add_config_options, config_from_args
from core.similarity.config import SimilarityConfig

# SimilarityConfig fields set by `similarity` (defaults read from the config).
SIMILARITY_OPTIONS: dict[str, Option | str] = {
    "backbone": Option("--backbone", "features to fine-tune on"),
    "out_dim": Option("--dim", "embedding dimension"),
    "margin": Option("--margin", "triplet margin, cosine distance"),
    "epochs": "--epochs",
    "lr": "--lr",
    "batch_size": "--batch-size",
    "random_state": "--seed",
    "target_recall": Option("--target-recall", "recall@10 the index must reach"),
    "direction_views": Option("--direction-views", "directions from examples add each example's augmented "
                                                   "views to its side"),
    "serve": Option("--serve", "served space: auto (the tuned embedding only where it beats the frozen features "
                               "on held-out checks), tuned or frozen"),
}


def register(sub: Any) -> None:
    """Add ``similarity``, ``similar`` and ``directions`` to the CLI."""
    p = sub.add_parser(
        "similarity", help="train the similarity head, build the annoy index and directions",
        description="Fine-tune a small embedding head with semi-hard triplet loss on the cached backbone "
                    "features and their augmented views, embed the catalog, build an annoy index (n_trees / "
                    "search_k chosen by measured recall@10), and build the directions (shipped 'stripes' / "
                    "'floral' example sets, 'brighter' from dominant colours). Writes similarity/<id>.")
    add_workspace(p)
    p.add_argument("--id", default="default", dest="run_id", help="run id (artifact similarity/<id>)")
    add_config_options(p, SimilarityConfig, SIMILARITY_OPTIONS)
    add_json(p)
    add_quiet(p)
    p.set_defaults(handler=cmd_similarity)

    p = sub.add_parser(
        "serving", help="export the query models to ONNX (the web process then serves queries without torch)",
        description="Export the backbone's feature map, the similarity head and the clustering's projection head "
                    "to ONNX, with the clustering's arrays, as serving/<id>: what a web process needs to embed "
                    "and place a query image in ONNX Runtime. The pipeline runs it after `similarity`.")
    add_workspace(p)
    p.add_argument("--id", default="default", dest="run_id", help="similarity run id (artifact serving/<id>)")
    add_json(p)
    p.set_defaults(handler=cmd_serving)

    p = sub.add_parser(
        "similar", help="items most similar to an image, optionally shifted along directions",
        description="Query by image file, URL or catalog item; --shift NAME=WEIGHT steers the results "
                    "towards a direction's attribute (see `directions`).")
    add_workspace(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--image", help="path of an image file")
    src.add_argument("--url", help="http(s) URL of an image (private addresses are refused)")
    src.add_argument("--item", help="item id of a catalog item")
    p.add_argument("--k", type=int, default=10, help="number of results (default %(default)s)")
    p.add_argument("--shift", action="append", default=[], metavar="NAME=WEIGHT",
                   help="direction and weight in [-1, 1], repeatable: 0 the query as it is, 1 the same "
                        "kind of piece with the attribute, e.g. --shift stripes=0.5")
    p.add_argument("--id", default="default", dest="run_id", help="similarity run id")
    add_json(p)
    p.set_defaults(handler=cmd_similar)

    p = sub.add_parser("directions", help="list the saved directions with their provenance",
                       description="List the directions a query can be shifted along: those saved with the "
                                   "similarity artifact and those built from example sets saved in the app.")
    add_workspace(p)
    p.add_argument("--id", default="default", dest="run_id", help="similarity run id")
    add_json(p)
    p.set_defaults(handler=cmd_directions)


def cmd_serving(args: argparse.Namespace) -> int:
    from core.serving.export import artifact_name, export_serving

    ws = open_workspace(args)
    desc = export_serving(ws, args.run_id)
    if args.json:
        print_json(desc)
        return 0
    cluster = desc["cluster"]
    print(f"{artifact_name(args.run_id)} v{ws.version(artifact_name(args.run_id))}: {desc['backbone']} in ONNX, "
          f"{desc['space']} space, clustering {cluster['run'] if cluster else 'none'}")
    return 0


def cmd_similarity(args: argparse.Namespace) -> int:
    from core.similarity.step import train_similarity

    ws = open_workspace(args)
    cfg = config_from_args(SimilarityConfig, args, SIMILARITY_OPTIONS)
    summary = train_similarity(ws, cfg, args.run_id,
                               progress=progress_bar("similarity epochs", enabled=not (args.quiet or args.json)))
    if args.json:
        print_json(summary)
        return 0
    ev, ix = summary["evaluation"], summary["index"]
    print(f"{summary['artifact']} v{summary['version']}: {ev['n_items']} items, {ev['n_validation']} held out")
    for key in ("partner_top1", "partner_top5", "partner_top10", "label_precision_at_10"):
        if key in ev["tuned"]:
            print(f"  {key:24s} frozen {ev['frozen'][key]:.3f}   tuned {ev['tuned'][key]:.3f}")
    if "tuned_all_queries" in ev:
        print(f"  label precision@10, all labelled queries: frozen "
              f"{ev['frozen_all_queries']['label_precision_at_10']:.3f}   tuned "
              f"{ev['tuned_all_queries']['label_precision_at_10']:.3f}")
    print(f"  served: {ev['served']['space']} ({ev['served']['reason']})")
    print(f"  index: n_trees={ix['n_trees']} search_k={ix['search_k']} recall@10={ix['recall_at_10']}")
    for d in summary["directions"]:
        print(f"  direction {d['name']}: {d['source']}, auc {d.get('auc')}")
    for n in summary["notes"]:
        print(f"  note: {n}")
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    from core.similarity.query import parse_shift, similar

    ws = open_workspace(args)
    res = similar(ws, path=args.image, url=args.url, item_id=args.item, k=args.k,
                  shift_weights=parse_shift(args.shift), run_id=args.run_id)
    if args.json:
        print_json(res.to_dict())
        return 0
    shifted = ", ".join(f"{n}={w:g}" for n, w in res.shift.items()) or "none"
    print(f"query: {res.query.get('path') or res.query.get('url') or res.query.get('item_id')}   shift: {shifted}")
    if res.cluster is not None:
        print(f"cluster: {res.cluster}")
    for r in res.results:
        print(f"{r['rank']:3d}  {r['item_id']}  {r['score']:.4f}  {r['label'] or ''}")
    return 0


def cmd_directions(args: argparse.Namespace) -> int:
    from core.similarity.query import list_directions

    ws = open_workspace(args)
    dirs, problems = list_directions(ws, args.run_id)
    rows = [d.summary() for d in dirs.values()]
    if args.json:
        print_json({"directions": rows, "problems": problems})
        return 0
    if not rows:
        print("no directions")
    for r in rows:
        counts = f"{r.get('n_positive', '-')}+/{r.get('n_negative', '-')}-"
        auc = f"auc {r['auc']:.3f} ({r.get('auc_kind', '')})" if r.get("auc") is not None else "auc -"
        print(f"{r['name']:16s} {r['source']:10s} {counts:10s} {auc}  {r.get('origin', r.get('attribute', ''))}")
    for p in problems:
        print(f"cannot build: {p}")
    return 0

