"""The baseline a clustering run is compared with: plain k-means on the frozen features."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from core.embed.spec import DEFAULT_BACKBONE
from core.metrics import evaluate as label_scores
from core.workspace import Workspace

# Above this many items the baseline k-means is fitted on a random sample of this size and then
# assigns every item in row blocks: a 50,000-item catalog's grid features (1 GB, memory-mapped)
# are never copied into memory whole.
BASELINE_FIT_ITEMS = 20_000


def plain_kmeans(features: np.ndarray, k: int, labels: np.ndarray | None, seed: int) -> dict[str, Any]:
    """Plain k-means with ``k`` clusters on the frozen features (no head, no PCA), scored
    against ``labels`` (N,) (None where unlabelled); features (N, D) may be memory-mapped."""
    from sklearn.cluster import KMeans

    t0 = time.perf_counter()
    n = len(features)
    sample = np.arange(n)
    if n > BASELINE_FIT_ITEMS:
        sample = np.sort(np.random.default_rng(seed).choice(n, BASELINE_FIT_ITEMS, replace=False))
    # features[sample] is a fresh copy: k-means may centre it in place instead of copying it again
    km = KMeans(n_clusters=k, n_init=3, random_state=seed, copy_x=False).fit(np.asarray(features[sample], np.float32))
    pred = np.concatenate([km.predict(np.asarray(features[s : s + 8192], np.float32)) for s in range(0, n, 8192)])
    out: dict[str, Any] = {"method": "kmeans on frozen features", "k": int(k)}
    if n > BASELINE_FIT_ITEMS:
        out["fitted_on"] = BASELINE_FIT_ITEMS
    if labels is not None:
        mask = np.array([v is not None for v in labels])
        scores = label_scores(labels[mask].astype(str), pred[mask])
        out.update({m: round(scores[m], 5) for m in ("acc", "nmi", "ari", "purity")})
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def baselines(ws: Workspace, fs: Any, X: np.ndarray, k: int, labels: np.ndarray | None, seed: int) -> dict[str, Any]:
    """Plain k-means on the clustered features ``X`` (N, D) of FeatureSet ``fs``; when those are
    not the default backbone's (e.g. the 2×2 grid), also on its pooled features, as ``"pooled"``."""
    from core.embed.artifact import load_features

    out = {**plain_kmeans(X, k, labels, seed), "features": fs.backbone}
    if fs.backbone != DEFAULT_BACKBONE and ws.has(f"features/{DEFAULT_BACKBONE}"):
        pooled = load_features(ws, DEFAULT_BACKBONE)
        if np.array_equal(pooled.ids, fs.ids):
            out["pooled"] = {**plain_kmeans(pooled.features, k, labels, seed), "features": DEFAULT_BACKBONE}
    return out
