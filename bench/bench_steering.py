"""Steering and plain similarity, served space against frozen features, on a catalog with known patterns.

    .venv/bin/python bench/pattern_catalog.py --out bench/out/patterns      # once: build + embed
    nice .venv/bin/python bench/bench_steering.py --workspace bench/out/patterns/ws

Trains the similarity step (pipeline defaults, ``serve=auto``), then for 5, 10 and 20 examples
per side of each pattern ("stripes", "checks"; ``--draws`` sets drawn at random from the
patterned and the plain items), built from the examples alone and from the examples with their
cached augmented views (``from_examples(views=...)``), and plain query items, sweeps the slider and reports the highest "similarity
kept" while >= 80 % of the top 10 carry the pattern, and the highest share reached, in the
served space and in the frozen features (same steering code, exact candidates). "Similarity
kept" is judged in the lite0 2x2-grid features (a space neither ranking uses): mean cosine of
the results to the query, 0 = a random item of the pattern, 1 = the query's ten most similar
items of the pattern. Plain similarity: view retrieval top-1/5/10 of every item's first view.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.embed.artifact import load_features  # noqa: E402
from core.similarity.directions import from_examples  # noqa: E402
from core.similarity.retrieval import exact_topk, l2_normalise, partner_topk_accuracy  # noqa: E402
from core.similarity.steering import steered_rows  # noqa: E402
from core.workspace import Workspace  # noqa: E402

SLIDER = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def frontier(X: np.ndarray, judge: np.ndarray, has: np.ndarray, d, queries: np.ndarray) -> tuple[float, float]:
    """(best similarity kept with share >= 0.8 or nan, highest share) over the slider."""
    best, top_share = float("nan"), 0.0
    pat = np.flatnonzero(has)
    for w in SLIDER:
        kept, shares = [], []
        for q in queries:
            skip = np.zeros(len(X), bool)
            skip[q] = True
            nearest = exact_topk(X, X[q:q + 1], 200, np.array([q]))[0]
            rows, _ = steered_rows(X, X[q], nearest, 10, {d.name: w}, {d.name: d}, skip)
            js = judge[pat] @ judge[q]
            lo, hi = float(js.mean()), float(np.sort(js)[-10:].mean())
            kept.append((float((judge[rows] @ judge[q]).mean()) - lo) / (hi - lo))
            shares.append(float(has[rows].mean()))
        share = float(np.mean(shares))
        top_share = max(top_share, share)
        if share >= 0.8:
            best = np.nanmax([best, float(np.mean(kept))])
    return best, top_share


def main() -> None:
    """Train, sweep, print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workspace", default="bench/out/patterns/ws")
    p.add_argument("--queries", type=int, default=30)
    p.add_argument("--draws", type=int, default=2, help="example sets drawn per pattern and size")
    args = p.parse_args()
    ws = Workspace(args.workspace, create=False)
    from core.similarity.artifact import load_similarity
    from core.similarity.config import SimilarityConfig
    from core.similarity.step import train_similarity

    summary = train_similarity(ws, SimilarityConfig(shipped_directions=None))
    ev = summary["evaluation"]
    art = load_similarity(ws)
    fs = load_features(ws, "efficientnet-lite0")
    assert list(np.asarray(fs.ids).astype(str)) == list(art.ids)
    frozen = l2_normalise(fs.features)
    grid = l2_normalise(load_features(ws, "efficientnet-lite0-2x2").features)
    pattern = ws.items().set_index("item_id").reindex(art.ids)["pattern"].fillna("").astype(str).to_numpy()
    print(f"served: {ev['served']['space']} ({ev['served']['reason']})")
    for name in ("partner_top1", "partner_top5", "partner_top10"):
        print(f"  held-out {name}: frozen {ev['frozen'][name]:.3f}  tuned {ev['tuned'][name]:.3f}")
    views = l2_normalise(fs.views[:, 0])
    allq = np.arange(len(frozen))
    tuned_views = art.embedder().transform(fs.views[:, 0]) if art.space == "tuned" else views
    for label, space, qv in (("frozen", frozen, views), ("served", np.asarray(art.embeddings), tuned_views)):
        acc = partner_topk_accuracy(qv, space, [{int(i)} for i in allq])
        print(f"  plain (w=0) view retrieval, all items, {label}: " + ", ".join(f"{k} {v:.3f}" for k, v in acc.items()))
    rng = np.random.default_rng(0)
    plain = np.flatnonzero(pattern == "")
    queries = rng.choice(plain, args.queries, replace=False)
    served_views = np.stack([l2_normalise(art.embedder().transform(fs.views[:, v])) if art.space == "tuned"
                             else l2_normalise(fs.views[:, v]) for v in range(fs.views.shape[1])], axis=1)
    frozen_views = l2_normalise(np.asarray(fs.views))
    print("| pattern | examples per side | space | examples | best similarity kept at >= 80 % share (draws reaching it) "
          "| highest share | leave-one-out AUC |")
    print("|---|---|---|---|---|---|---|")
    spaces = (("served", np.asarray(art.embeddings), served_views), ("frozen", frozen, frozen_views))
    for pat in ("stripes", "checks"):
        has = pattern == pat
        for n in (5, 10, 20):
            got: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
            for _ in range(args.draws):
                pos = rng.choice(np.flatnonzero(has), n, replace=False)
                neg = rng.choice(np.setdiff1d(plain, queries), n, replace=False)
                for label, space, V in spaces:
                    for how, views in (("alone", None), ("+ views", lambda rows, V=V: V[rows])):
                        d = from_examples(pat, space, art.ids, list(art.ids[pos]), list(art.ids[neg]), views=views)
                        kept, share = frontier(space, grid, has, d, queries)
                        got.setdefault((label, how), []).append((kept, share, d.provenance["auc"]))
            for (label, how), rows in got.items():
                a = np.asarray(rows, dtype=float)
                reached = int(np.isfinite(a[:, 0]).sum())
                kept = float(np.nanmean(a[:, 0])) if reached else float("nan")
                print(f"| {pat} | {n} | {label} | {how} | {kept:.2f} ({reached}/{len(a)}) | {a[:, 1].mean():.2f} "
                      f"| {a[:, 2].mean():.3f} |", flush=True)

if __name__ == "__main__":
    main()
