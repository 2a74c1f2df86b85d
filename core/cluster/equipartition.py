"""Balanced pseudo-labels: centroids whose clusters share the items out evenly.

Plain k-means on frozen features often splits one visually varied category (sandals, bags) in
two and lets a single cluster swallow several similar ones (shirts, pullovers and coats): the
"one cluster swallows the rest" failure of DeepCluster. Refining the centroids with an
equipartition constraint, as in self-labelling (Asano et al., ICLR 2020) and SwAV, fixes that:
each round assigns items to centroids by an entropy-regularised optimal transport with equal
cluster marginals (Sinkhorn-Knopp), then moves each centroid to the mean of its items.

Equal marginals are a prior: good when categories are of similar size (Fashion-MNIST, a curated
catalog); a catalog dominated by one category should leave it off (``equipartition=False``).
"""

from __future__ import annotations

import numpy as np


def sinkhorn(scores: np.ndarray, eps: float = 0.05, n_iter: int = 30) -> np.ndarray:
    """Soft assignment with equal cluster sizes.

    Parameters
    ----------
    scores : (N, k) similarities (e.g. cosine of unit vectors to unit centroids).
    eps : entropy temperature; smaller is closer to a hard assignment.
    n_iter : alternating row / column normalisations.

    Returns
    -------
    Q : (N, k) float32, each row sums to 1 and each column to about N / k.
    """
    S = np.asarray(scores, dtype=np.float32)
    N, k = S.shape
    # row-wise shift: exp stays finite, and the row normalisation undoes it
    Q = np.exp((S - S.max(axis=1, keepdims=True)) / np.float32(eps))
    col_target = np.float32(N / k)
    for _ in range(n_iter):
        Q *= col_target / np.maximum(Q.sum(axis=0, keepdims=True), np.float32(1e-30))
        Q /= np.maximum(Q.sum(axis=1, keepdims=True), np.float32(1e-30))
    return Q


def balanced_centroids(Z: np.ndarray, centroids: np.ndarray, n_rounds: int = 10, eps: float = 0.05) -> np.ndarray:
    """Refine unit ``centroids`` (k, d) on unit rows ``Z`` (N, d) under equal cluster sizes.

    Returns (k, d) float32 unit centroids; a centroid that gets no items stays where it was.
    Stops early once no item changes cluster.
    """
    Z = np.asarray(Z, dtype=np.float32)
    C = np.array(centroids, dtype=np.float32)
    k = len(C)
    previous: np.ndarray | None = None
    for _ in range(n_rounds):
        labels = sinkhorn(Z @ C.T, eps).argmax(axis=1)
        if previous is not None and np.array_equal(labels, previous):
            break
        previous = labels
        onehot = np.zeros((k, len(Z)), np.float32)
        onehot[labels, np.arange(len(Z))] = 1.0
        sums = onehot @ Z  # (k, d) per-cluster sums
        counts = onehot.sum(axis=1)
        moved = counts > 0
        C[moved] = sums[moved] / counts[moved, None]
        C /= np.maximum(np.linalg.norm(C, axis=1, keepdims=True), 1e-12)
    return C
