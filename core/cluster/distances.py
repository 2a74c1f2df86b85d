"""Distances from items to cluster centroids (Euclidean between L2-normalised vectors)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def unit(X: np.ndarray) -> np.ndarray:
    """Rows of ``X`` (n, d) scaled to unit L2 norm (zero rows stay zero), float32."""
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return (X / np.maximum(n, 1e-12)).astype(np.float32)


@dataclass(frozen=True)
class Distances:
    """Per-sample distances to the centroids.

    nearest : (N,) int, index of the nearest centroid
    d_min : (N,) float, distance to it
    d_max : (N,) float, distance to the farthest centroid
    """

    nearest: np.ndarray
    d_min: np.ndarray
    d_max: np.ndarray

    @property
    def confidence(self) -> np.ndarray:
        """(N,) ``1 - d_min / d_max`` in [0, 1] (1 when d_max is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            conf = 1.0 - np.where(self.d_max > 0, self.d_min / self.d_max, 0.0)
        return np.clip(conf, 0.0, 1.0)


def centroid_distances(Z: np.ndarray, centroids: np.ndarray, chunk: int = 65536) -> Distances:
    """Euclidean distances from rows of ``Z`` (N, d) to ``centroids`` (k, d), in chunks."""
    Z = np.asarray(Z, dtype=np.float32)
    C = np.asarray(centroids, dtype=np.float32)
    c2 = (C * C).sum(1)
    n = len(Z)
    nearest = np.empty(n, dtype=np.int64)
    d_min = np.empty(n, dtype=np.float32)
    d_max = np.empty(n, dtype=np.float32)
    for s in range(0, n, chunk):
        z = Z[s : s + chunk]
        d2 = (z * z).sum(1)[:, None] - 2.0 * (z @ C.T) + c2[None, :]
        np.maximum(d2, 0.0, out=d2)
        idx = d2.argmin(1)
        nearest[s : s + chunk] = idx
        d_min[s : s + chunk] = np.sqrt(d2[np.arange(len(z)), idx])
        d_max[s : s + chunk] = np.sqrt(d2.max(1))
    return Distances(nearest, d_min, d_max)


def labelled_distances(dist: Distances, Z: np.ndarray, centroids: np.ndarray, labels: np.ndarray) -> Distances:
    """``dist`` with ``nearest`` / ``d_min`` replaced by the given labels' (N,) centroids."""
    d_own = np.linalg.norm(Z - centroids[labels], axis=1).astype(np.float32)
    return Distances(np.asarray(labels, dtype=np.int64), d_own, np.maximum(dist.d_max, d_own))
