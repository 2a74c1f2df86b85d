"""The two-threshold novelty test and the buffer of novel samples.

A sample is novel when its distance to the nearest centroid exceeds ``mu + n_sigma * sigma``
of those distances, or when its confidence ``1 - d_min / d_max`` is below ``min_confidence``.
Distances are Euclidean between L2-normalised vectors (a monotone function of cosine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import InvalidInputError


@dataclass(frozen=True)
class NoveltyConfig:
    """Thresholds of the novelty test and the growth buffer.

    n_sigma : distance threshold = mean + n_sigma * std of nearest-centroid distances.
    min_confidence : a sample with confidence below it is novel.
    buffer_size : novel samples needed before k grows by one.
    """

    n_sigma: float = 2.0
    min_confidence: float = 0.6
    buffer_size: int = 80

    def __post_init__(self) -> None:
        if self.n_sigma < 0:
            raise InvalidInputError(f"n_sigma must be >= 0, got {self.n_sigma}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise InvalidInputError(f"min_confidence must be in [0, 1], got {self.min_confidence}")
        if self.buffer_size < 1:
            raise InvalidInputError(f"buffer_size must be >= 1, got {self.buffer_size}")


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


def novel_mask(dist: Distances, config: NoveltyConfig = NoveltyConfig()) -> np.ndarray:
    """(N,) bool: which samples fail the two-threshold test.

    ``mu`` and ``sigma`` are the mean and standard deviation of ``dist.d_min`` over all N.
    """
    mu, sigma = float(dist.d_min.mean()), float(dist.d_min.std())
    far = dist.d_min > mu + config.n_sigma * sigma
    unsure = dist.confidence < config.min_confidence
    return far | unsure


class NoveltyBuffer:
    """Item indices that failed the novelty test, without duplicates, in arrival order.

    Parameters
    ----------
    capacity : the buffer is ``full`` once it holds this many samples.
    """

    def __init__(self, capacity: int = 80):
        if capacity < 1:
            raise InvalidInputError(f"buffer capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._items: dict[int, None] = {}

    def add(self, indices: np.ndarray) -> None:
        """Append sample indices (N,) int; ones already held are ignored."""
        for i in np.asarray(indices, dtype=np.int64).tolist():
            self._items.setdefault(i, None)

    @property
    def full(self) -> bool:
        return len(self._items) >= self.capacity

    def __len__(self) -> int:
        return len(self._items)

    def indices(self) -> np.ndarray:
        """(n,) int64 held indices."""
        return np.fromiter(self._items.keys(), dtype=np.int64, count=len(self._items))

    def retain(self, indices: np.ndarray) -> None:
        """Keep only the held samples that are in ``indices`` (e.g. the ones still novel)."""
        keep = set(np.asarray(indices, dtype=np.int64).tolist())
        self._items = {i: None for i in self._items if i in keep}

    def clear(self) -> None:
        self._items.clear()


def seed_from_novel(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A new centroid from novel samples ``Z`` (n, d): the mean of their densest half.

    The densest point is the one with the most novel neighbours within the median pairwise
    distance; the seed is the mean of its nearest half, so scattered stragglers of other
    clusters do not drag the seed away from a coherent novel group.

    Returns
    -------
    seed : (d,) float64
    members : (m,) int, rows of ``Z`` that formed the seed
    """
    Z = np.asarray(Z, dtype=np.float64)
    if len(Z) == 0:
        raise InvalidInputError("cannot seed a cluster from no samples")
    rows = np.arange(len(Z))
    if len(Z) > 2000:
        rows = np.sort(np.random.default_rng(0).choice(len(Z), 2000, replace=False))
    S = Z[rows]
    sq = (S * S).sum(1)
    d = np.sqrt(np.maximum(sq[:, None] - 2 * S @ S.T + sq[None, :], 0.0))
    radius = np.median(d)
    centre = int((d <= radius).sum(1).argmax())
    half = np.argsort(d[centre])[: max(1, len(S) // 2)]
    return S[half].mean(0), rows[half]
