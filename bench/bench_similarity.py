"""Similarity on the demo catalog: label precision@10 frozen vs tuned (same run), query latency.

Needs a workspace with the demo catalog embedded (``python -m core run --workspace WS``).
Trains ``similarity/<id>`` (unless ``--reuse``), prints the frozen-vs-tuned evaluation of that
run, then times query by image end to end (read file, decode, embed with the backbone, head,
shift, annoy search) on original demo photos, one at a time.

    .venv/bin/python bench/bench_similarity.py --workspace /work/ws-demo [--reuse] [--queries 60]

With ``--fashion-mnist N`` the workspace (a new folder) is first filled with the first N
Fashion-MNIST test images (``core.fashion_mnist``), ingested and embedded with lite0 and two
augmented views, and the query-latency part is skipped:

    .venv/bin/python bench/bench_similarity.py --workspace /tmp/ws-fm --fashion-mnist 2000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.similarity import SimilarityConfig, load_similarity, train_similarity  # noqa: E402
from core.similarity.query import similar  # noqa: E402
from core.workspace import Workspace  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", required=True, type=Path)
    ap.add_argument("--id", default="bench", dest="run_id")
    ap.add_argument("--reuse", action="store_true", help="use the existing similarity/<id> instead of training")
    ap.add_argument("--epochs", type=int, default=SimilarityConfig.epochs)
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--shift", default="stripes=1.0", help="direction applied in the timed queries ('' for none)")
    ap.add_argument("--fashion-mnist", type=int, default=0, metavar="N",
                    help="build the workspace from the first N Fashion-MNIST test images first")
    args = ap.parse_args()
    if args.fashion_mnist:
        from core import pipeline
        from core.fashion_mnist import write_png_folder

        ws = Workspace(args.workspace)
        t0 = time.perf_counter()
        csv_path = write_png_folder(args.workspace.parent / (args.workspace.name + "-src"), limit=args.fashion_mnist)
        pipeline.ingest(ws, csv_path)
        pipeline.embed(ws)
        print(f"Fashion-MNIST: {len(ws.items())} images ingested and embedded in {time.perf_counter() - t0:.0f} s")
    else:
        ws = Workspace(args.workspace, create=False)

    if not args.reuse:
        t0 = time.perf_counter()
        train_similarity(ws, SimilarityConfig(epochs=args.epochs), args.run_id)
        print(f"train_similarity: {time.perf_counter() - t0:.1f} s")
    art = load_similarity(ws, args.run_id)
    ev = art.evaluation
    print(f"similarity/{args.run_id} v{art.version}: {ev['n_items']} items, {ev['n_validation']} held-out queries")
    for key in ("partner_top1", "partner_top5", "partner_top10", "label_precision_at_10"):
        if key in ev.get("tuned", {}):
            print(f"  held-out {key:22s} frozen {ev['frozen'][key]:.4f}  tuned {ev['tuned'][key]:.4f}")
    if "tuned_all_queries" in ev:
        print(f"  all labelled queries label_precision@10 frozen {ev['frozen_all_queries']['label_precision_at_10']:.4f}"
              f"  tuned {ev['tuned_all_queries']['label_precision_at_10']:.4f}")
    meta = art.index.meta
    print(f"  index: n_trees={meta['n_trees']} search_k={meta['search_k']} recall@10={meta['recall_at_10']}")
    for d in art.directions.values():
        p = d.provenance
        print(f"  direction {d.name}: {d.source}, {p.get('n_positive')}+/{p.get('n_negative')}-, "
              f"auc {p.get('auc')} ({p.get('auc_kind')})")
    if args.fashion_mnist:
        return

    items = ws.items()
    rng = np.random.default_rng(0)
    sources = [Path(s) for s in items["source"].tolist() if Path(str(s)).is_file()]
    if not sources:
        sources = [ws.image_path(i) for i in items["item_id"]]
    picks = [sources[i] for i in rng.choice(len(sources), size=min(args.queries, len(sources)), replace=False)]
    weights = {}
    if args.shift:
        name, _, w = args.shift.partition("=")
        if name in art.directions:
            weights = {name: float(w)}
    t0 = time.perf_counter()
    similar(ws, path=picks[0], k=10, shift_weights=weights, run_id=args.run_id, with_cluster=False)
    first = (time.perf_counter() - t0) * 1000
    times, parts = [], []
    for p in picks:
        t0 = time.perf_counter()
        res = similar(ws, path=p, k=10, shift_weights=weights, run_id=args.run_id, with_cluster=False)
        times.append((time.perf_counter() - t0) * 1000)
        parts.append(res.timings_ms)
    print(f"query by image ({len(picks)} demo photos, k=10, shift={weights or 'none'}, no cluster lookup):")
    print(f"  first query (loads index, head, backbone): {first:.0f} ms")
    print(f"  median {statistics.median(times):.1f} ms, p90 {np.percentile(times, 90):.1f} ms, "
          f"max {max(times):.1f} ms")
    for key in ("fetch_read", "embed", "search"):
        vals = [t[key] for t in parts if key in t]
        if vals:
            print(f"    median {key}: {statistics.median(vals):.1f} ms")


if __name__ == "__main__":
    main()
