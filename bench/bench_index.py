"""Annoy at scale: recall@10 vs exact search, QPS vs one-at-a-time exact numpy, build time, size.

Clustered synthetic data (unit vectors around random centres) of the tuned dimension.
n_trees / search_k are chosen by ``core.similarity.index.choose_params`` (target recall 0.98 on held-out
queries), then the full index is built and measured on fresh queries drawn from the same
distribution (not in the index), in one run.

    .venv/bin/python bench/bench_index.py [--n 100000] [--dim 64] [--queries 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.similarity.index import AnnIndex, choose_params  # noqa: E402
from core.similarity.retrieval import exact_topk, l2_normalise  # noqa: E402


def clustered(n: int, dim: int, n_centres: int, spread: float, rng: np.random.Generator) -> np.ndarray:
    """(n, dim) unit vectors: random unit centres plus isotropic noise of scale ``spread``."""
    centres = l2_normalise(rng.normal(size=(n_centres, dim)))
    which = rng.integers(0, n_centres, size=n)
    return l2_normalise(centres[which] + spread * rng.normal(size=(n, dim)) / np.sqrt(dim))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--centres", type=int, default=200)
    ap.add_argument("--spread", type=float, default=0.8)
    ap.add_argument("--target", type=float, default=0.98)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    both = clustered(args.n + args.queries, args.dim, args.centres, args.spread, rng)
    X, Q = both[: args.n], both[args.n:]
    ids = np.array([f"{i:016x}" for i in range(args.n)])
    threads = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    print(f"BLAS thread settings: {threads}")
    print(f"data: {args.n} items, dim {args.dim}, {args.centres} clusters (spread {args.spread}); "
          f"{args.queries} held-out queries")

    t0 = time.perf_counter()
    params, trials = choose_params(X, target_recall=args.target, n_queries=300, seed=args.seed)
    print(f"choose_params: {time.perf_counter() - t0:.1f} s, {len(trials)} settings tried")
    for t in trials:
        print(f"  n_trees={t['n_trees']:4d} search_k={t['search_k']:6d} "
              f"recall@10={t['recall_at_10']:.4f} {t['query_ms']:.3f} ms/query")
    print(f"chosen: n_trees={params.n_trees} search_k={params.search_k}")

    t0 = time.perf_counter()
    index = AnnIndex.build(X, ids, params.n_trees, params.search_k, seed=args.seed)
    build_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        index.save(tmp)
        size_mb = os.path.getsize(Path(tmp) / "index.ann") / 2**20
        index = AnnIndex.load(tmp, expected_dim=args.dim)

        truth = exact_topk(X, Q, 10)
        t0 = time.perf_counter()
        found = [index.query_rows(q, 10)[0] for q in Q]
        ann_s = time.perf_counter() - t0
        recall = np.mean([len(set(f.tolist()) & set(t.tolist())) / 10 for f, t in zip(found, truth, strict=True)])

        # Exact numpy search, one query at a time (what a server does per request).
        t0 = time.perf_counter()
        for q in Q:
            sims = X @ q
            part = np.argpartition(-sims, 9)[:10]
            part[np.argsort(-sims[part])]
        exact_s = time.perf_counter() - t0
        index.unload()

    ann_qps, exact_qps = len(Q) / ann_s, len(Q) / exact_s
    print(f"build: {build_s:.1f} s (1 thread), index file {size_mb:.1f} MiB")
    print(f"recall@10 vs exact (held-out queries): {recall:.4f}")
    print(f"annoy QPS: {ann_qps:.0f} ({1000 / ann_qps:.3f} ms/query)")
    print(f"exact numpy QPS (one query at a time): {exact_qps:.0f} ({1000 / exact_qps:.3f} ms/query)")
    print(f"speed-up: {ann_qps / exact_qps:.1f}x")


if __name__ == "__main__":
    main()
