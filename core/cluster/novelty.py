"""The novelty test, the buffer of novel samples, and the guard on growing k from them.

A sample is novel when its distance to the nearest centroid exceeds ``mu + n_sigma * sigma``
of those distances, or when its confidence ``1 - d_min / d_max`` is below ``min_confidence``.
Distances are Euclidean between L2-normalised vectors (a monotone function of cosine).
The same rule marks novel items during a fit and new items assigned to a fitted model: the
latter use the ``mu`` and ``sigma`` of the fit (:func:`distance_stats`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.cluster.distances import Distances, unit
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


def distance_stats(dist: Distances) -> tuple[float, float]:
    """``(mu, sigma)``: mean and standard deviation of the nearest-centroid distances (N,)."""
    return float(dist.d_min.mean()), float(dist.d_min.std())


def novel_mask(
    dist: Distances, config: NoveltyConfig = NoveltyConfig(), stats: tuple[float, float] | None = None
) -> np.ndarray:
    """(N,) bool: which samples fail the two-threshold test.

    ``stats`` is ``(mu, sigma)`` of the reference distances (a fitted model's); None: those of
    ``dist.d_min`` over all N.
    """
    mu, sigma = distance_stats(dist) if stats is None else stats
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


def growth_seed(Z: np.ndarray, held: np.ndarray, d_min: np.ndarray) -> np.ndarray | None:
    """The growth guard: a new unit centroid (1, d) from the buffered novel rows ``held`` of
    ``Z`` (N, d), or None when it would not explain them.

    k grows only when the seed is nearer its novel members than their current centroids are
    (``d_min`` (N,)): a coherent new group, not stragglers of several clusters.
    """
    seed_raw, members = seed_from_novel(Z[held])
    seed_vec = unit(seed_raw[None, :])
    d_seed = np.linalg.norm(Z[held[members]] - seed_vec, axis=1).mean()
    if d_seed >= d_min[held[members]].mean():
        return None
    return seed_vec
