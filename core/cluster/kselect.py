"""The label-free test behind novelty growth: does a cluster hold two groups, on held-out items?

When the novelty buffer is full, the clusters holding the most buffered novel samples are
candidates for a split. For a candidate, its members are halved at random: 2-means on one
half gives a split axis (the line through the two centres); the other half, which chose
nothing, is projected on that axis, and the statistic is the share of its variance that the
best two-group split of the projections explains. For a single Gaussian cluster, the held-out
projections are one-dimensional normal samples whatever the axis, so the statistic's null
distribution is exact and known (about 2/pi); it is drawn by simulation at the half's size
and the split is accepted only above its ``1 - alpha`` quantile. Two groups along the axis
push the statistic towards 1. The test reads no labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from core.cluster.distances import unit
from core.errors import InvalidInputError

# simulated draws of the null statistic per half size
NULL_DRAWS = 400
# a half is subsampled to at most this many items (the statistic's null is drawn at that size)
MAX_TEST_ITEMS = 2000
# a cluster needs this many members on each side of a split for the test to run
MIN_SIDE = 10
# clusters tried per growth, most buffered novel samples first
SPLIT_CANDIDATES = 3


@dataclass(frozen=True)
class SplitTest:
    """One held-out split test.

    cluster : the cluster tested.
    accepted : whether the split passed (statistic above the null quantile).
    statistic : held-out share of variance explained by the best two-group split, in [0, 1].
    null : the null's ``1 - alpha`` quantile at the held-out half's size.
    n_test : items in the held-out half.
    centroids : (2, d) unit centres of the split, fitted on all members (when accepted).
    """

    cluster: int
    accepted: bool
    statistic: float
    null: float
    n_test: int
    centroids: np.ndarray | None = None

    def record(self) -> dict[str, Any]:
        """The test as a JSON-able dict (for the epoch's history)."""
        return {"cluster": self.cluster, "accepted": self.accepted, "statistic": round(self.statistic, 5),
                "null": round(self.null, 5), "n_test": self.n_test}


def check_alpha(alpha: float) -> float:
    """``alpha`` in (0, 0.5), else :class:`InvalidInputError`."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 < float(alpha) < 0.5:
        raise InvalidInputError(f"split_alpha must be in (0, 0.5), got {alpha!r}")
    return float(alpha)


def split_statistic(t: np.ndarray) -> float:
    """Share of the variance of ``t`` (n,) explained by its best split into two groups (by a
    threshold; the optimum of 1-D 2-means), in [0, 1]; 0 for constant input."""
    ts = np.sort(np.asarray(t, dtype=np.float64))
    n = len(ts)
    if n < 2:
        return 0.0
    cs = np.cumsum(ts)
    total = cs[-1]
    ss = float(((ts - total / n) ** 2).sum())
    if ss <= 1e-12:
        return 0.0
    i = np.arange(1, n)
    left = cs[:-1]
    between = left**2 / i + (total - left) ** 2 / (n - i) - total**2 / n
    return float(np.clip(between.max() / ss, 0.0, 1.0))


@lru_cache(maxsize=256)
def null_quantile(n: int, alpha: float) -> float:
    """The ``1 - alpha`` quantile of :func:`split_statistic` on ``n`` standard normal samples
    (simulated, :data:`NULL_DRAWS` draws, fixed seed)."""
    rng = np.random.default_rng(12345 + n)
    draws = [split_statistic(rng.standard_normal(n)) for _ in range(NULL_DRAWS)]
    return float(np.quantile(draws, 1.0 - alpha))


def _two_means(Z: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres (2, d) and labels (n,) of 2-means on ``Z`` (n, d)."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        km = KMeans(2, n_init=3, random_state=seed).fit(Z)
    return km.cluster_centers_, km.labels_


def split_test(Z: np.ndarray, members: np.ndarray, cluster: int, alpha: float, seed: int) -> SplitTest:
    """Test whether cluster ``cluster``, rows ``members`` (m,) of ``Z`` (N, d), holds two groups."""
    rng = np.random.default_rng(seed)
    members = np.asarray(members, dtype=np.int64)
    if len(members) < 4 * MIN_SIDE:
        return SplitTest(cluster, False, 0.0, 1.0, 0)
    perm = rng.permutation(members)
    half = len(perm) // 2
    fit_rows, test_rows = perm[:half][:MAX_TEST_ITEMS], perm[half:][:MAX_TEST_ITEMS]
    centres, _ = _two_means(np.asarray(Z[fit_rows], np.float64), seed)
    axis = centres[1] - centres[0]
    norm = float(np.linalg.norm(axis))
    if norm <= 1e-12:
        return SplitTest(cluster, False, 0.0, 1.0, len(test_rows))
    t = np.asarray(Z[test_rows], np.float64) @ (axis / norm)
    stat = split_statistic(t)
    null = null_quantile(len(test_rows), alpha)
    if stat <= null:
        return SplitTest(cluster, False, stat, null, len(test_rows))
    full, labels = _two_means(np.asarray(Z[members], np.float64), seed)
    if np.bincount(labels, minlength=2).min() < MIN_SIDE:
        return SplitTest(cluster, False, stat, null, len(test_rows))
    return SplitTest(cluster, True, stat, null, len(test_rows), unit(full))


def candidates(labels: np.ndarray, held: np.ndarray, k: int) -> list[int]:
    """Clusters to try splitting: those holding buffered novel samples ``held`` (n,) rows,
    most first (ties: larger cluster first), at most :data:`SPLIT_CANDIDATES`."""
    novel = np.bincount(labels[held], minlength=k)
    sizes = np.bincount(labels, minlength=k)
    order = sorted((j for j in range(k) if novel[j] > 0), key=lambda j: (-novel[j], -sizes[j], j))
    return order[:SPLIT_CANDIDATES]
