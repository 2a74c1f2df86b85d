"""Duplicate groups on a set made from demo photos: precision and recall per threshold.

Each original is mixed with its crop, half-size rescale, JPEG re-encode and mirror image, among
distinct demo photos; everything is embedded by the real frozen backbone and grouped by
:func:`core.duplicates.groups_at`. Prints pairwise precision/recall/F1 per threshold and the
threshold with the best F1 among those with precision >= --min-precision (how
``core.duplicates.DEFAULT_THRESHOLD`` was picked), then the time of the neighbour scan.

    nice -n 10 .venv/bin/python bench/bench_duplicates.py --originals 40 --distinct 200
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from core import duplicates  # noqa: E402
from core.embed.onthefly import embed_pil  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"


def demo_photos(n: int, offset: int, stride: int) -> list[Image.Image]:
    """``n`` demo photos, every ``stride``-th from ``offset`` (deterministic, disjoint by offset)."""
    with open(DEMO / "catalog.csv") as fh:
        rows = list(csv.DictReader(fh))
    picked = rows[offset::stride][:n]
    return [Image.open(DEMO / r["path"]).convert("RGB") for r in picked]


def embed(images: list[Image.Image], batch: int = 32) -> np.ndarray:
    return np.concatenate([embed_pil(images[s:s + batch]).features for s in range(0, len(images), batch)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--originals", type=int, default=40)
    ap.add_argument("--distinct", type=int, default=200)
    ap.add_argument("--min-precision", type=float, default=0.95)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    originals = demo_photos(args.originals, 0, 2)
    distinct = demo_photos(args.distinct, 1, 2)
    ts = duplicates.make_test_set(originals, distinct, seed=args.seed)
    t0 = time.perf_counter()
    feats = embed(ts.images)
    print(f"{len(ts.images)} images ({args.originals} originals x {1 + len(duplicates.VARIANTS)}, "
          f"{args.distinct} distinct) embedded in {time.perf_counter() - t0:.1f} s")
    graph = duplicates.neighbour_graph(feats, ts.ids)
    rows = []
    print("| threshold | precision | recall | F1 | groups |")
    print("|---|---|---|---|---|")
    for th in np.round(np.arange(0.80, 0.985, 0.01), 3):
        groups = duplicates.groups_at(graph, float(th))
        s = duplicates.pair_scores(groups, ts.truth)
        rows.append((float(th), s))
        print(f"| {th:.2f} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {len(groups)} |")
    ok = [(th, s) for th, s in rows if s["precision"] >= args.min_precision] or rows
    best = max(ok, key=lambda r: (r[1]["f1"], -r[0]))
    print(f"best F1 with precision >= {args.min_precision}: threshold {best[0]:.2f} "
          f"(precision {best[1]['precision']:.3f}, recall {best[1]['recall']:.3f})")
    s = duplicates.pair_scores(duplicates.groups_at(graph, duplicates.DEFAULT_THRESHOLD), ts.truth)
    print(f"at DEFAULT_THRESHOLD {duplicates.DEFAULT_THRESHOLD}: precision {s['precision']:.3f}, "
          f"recall {s['recall']:.3f}")
    for kind in duplicates.VARIANTS:  # recall per variant kind: does the variant join its original?
        j = 1 + duplicates.VARIANTS.index(kind)
        groups = duplicates.groups_at(graph, duplicates.DEFAULT_THRESHOLD)
        where = {i: g for g in groups for i in g}
        found = sum(f"o{n}-0" in where.get(f"o{n}-{j}", []) for n in range(args.originals))
        print(f"  {kind}: {found}/{args.originals} joined their original")
    rng = np.random.default_rng(0)
    for n in (1791, 5000):
        X = rng.standard_normal((n, feats.shape[1])).astype(np.float32)
        t0 = time.perf_counter()
        g = duplicates.neighbour_graph(X, [str(i) for i in range(n)])
        t1 = time.perf_counter()
        duplicates.groups_at(g, 0.75)
        t2 = time.perf_counter()
        print(f"neighbour scan of {n} x {feats.shape[1]} features: {t1 - t0:.2f} s; "
              f"groups at a new threshold: {(t2 - t1) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
