"""Quality gates of the bf16 runtime against fp32 on labelled demo photos, in one run.

Embeds ``--n`` labelled demo photos with both runtimes (pooled lite0 and its 2×2 grid from one
pass), then prints: mean / min cosine to fp32; label precision@10 of the pooled features
(cosine kNN, the item itself left out); NMI of k-means on the grid features at the true number
of labels (mean of ``--seeds`` seeds, the same seeds for both). No asserts.

Usage::

    .venv/bin/python bench/bench_runtime_quality.py [--n 600] [--seeds 3]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.backbones import FeatureExtractor, get_spec, preprocess  # noqa: E402

DEMO = REPO / "data" / "demo"


def precision_at_10(X: np.ndarray, y: np.ndarray) -> float:
    """Share of each item's 10 cosine nearest neighbours (itself excluded) with its label."""
    Z = X / np.linalg.norm(X, axis=1, keepdims=True)
    S = Z @ Z.T
    np.fill_diagonal(S, -np.inf)
    nn = np.argsort(-S, axis=1)[:, :10]
    return float((y[nn] == y[:, None]).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    import torch
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    with open(DEMO / "catalog.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["label"]]
    rows = rows[:: max(1, len(rows) // args.n)][: args.n]
    y = np.array([r["label"] for r in rows])
    spec = get_spec("efficientnet-lite0")
    x = torch.from_numpy(np.stack([preprocess(spec, Image.open(DEMO / r["path"]).convert("RGB")) for r in rows]))
    out = {}
    for runtime in ("fp32", "bf16"):
        ext = FeatureExtractor("efficientnet-lite0", runtime=runtime)
        parts = [ext.extract_grids(x[s:s + 32], (1, 2))[0] for s in range(0, len(x), 32)]
        out[runtime] = [torch.cat([p[g] for p in parts]).numpy() for g in range(2)]
    k = len(set(y))
    print(f"{len(y)} labelled demo photos, {k} labels")
    print(f"{'runtime':8s} {'cos pooled':>11s} {'cos grid':>9s} {'p@10':>6s} {'NMI grid':>9s}")
    for runtime, (pooled, grid) in out.items():
        cos = [float(((a / np.linalg.norm(a, axis=1, keepdims=True)) * (b / np.linalg.norm(b, axis=1, keepdims=True)))
                     .sum(1).mean()) for a, b in zip(out["fp32"], (pooled, grid))]
        G = grid / np.linalg.norm(grid, axis=1, keepdims=True)
        nmi = np.mean([normalized_mutual_info_score(y, KMeans(k, n_init=3, random_state=s).fit_predict(G))
                       for s in range(args.seeds)])
        print(f"{runtime:8s} {cos[0]:11.5f} {cos[1]:9.5f} {precision_at_10(pooled, y):6.3f} {nmi:9.3f}")


if __name__ == "__main__":
    main()
