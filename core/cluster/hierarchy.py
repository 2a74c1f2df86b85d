"""A tree over the fine clusters: Ward linkage of their means in the head space, cut at any level.

The fit finds k fine clusters; :func:`build_tree` merges them pairwise (size-weighted Ward:
the merge that least increases the within-cluster sum of squares of the items first), so a
stylist can look at the catalog as "tops / bottoms / footwear" or down to "polo / T-shirt"
without re-training. Node ids follow scipy's linkage convention: leaves ``0..k-1`` are the
fine clusters, merge ``i`` makes node ``k + i``. A cut at ``n`` groups applies the first
``k - n`` merges (Ward's heights never decrease, so that is the cut of the dendrogram at a
height), and its partition of the items is the fine labels mapped through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import InvalidInputError


@dataclass(frozen=True)
class ClusterTree:
    """A binary tree over ``k`` fine clusters.

    merges : (k - 1, 4) float64, scipy linkage rows ``[node_a, node_b, height, n_items]``.
    sizes : (k,) int, items of each fine cluster.
    """

    merges: np.ndarray
    sizes: np.ndarray

    @property
    def k(self) -> int:
        """Number of leaves (fine clusters)."""
        return int(len(self.sizes))

    def check_level(self, n_groups: object) -> int:
        """``n_groups`` as an int in 1..k, else :class:`InvalidInputError`."""
        if isinstance(n_groups, bool) or not isinstance(n_groups, int | np.integer):
            raise InvalidInputError(f"the number of groups must be an integer, got {n_groups!r}")
        if not 1 <= int(n_groups) <= self.k:
            raise InvalidInputError(f"the number of groups must be in 1..{self.k}, got {n_groups}")
        return int(n_groups)

    def cut_nodes(self, n_groups: int) -> np.ndarray:
        """(k,) node id of the group each leaf belongs to when the tree is cut at ``n_groups``."""
        n = self.check_level(n_groups)
        node = np.arange(self.k)
        for i in range(self.k - n):
            a, b = int(self.merges[i, 0]), int(self.merges[i, 1])
            node[(node == a) | (node == b)] = self.k + i
        return node

    def cut(self, n_groups: int) -> np.ndarray:
        """(k,) group 0..n_groups-1 of each leaf; groups numbered by their smallest leaf."""
        index = {g: i for i, g in enumerate(self.groups(n_groups))}
        return np.array([index[int(v)] for v in self.cut_nodes(n_groups)], dtype=np.int64)

    def groups(self, n_groups: int) -> list[int]:
        """The node ids of the groups of the cut at ``n_groups``, ordered as :meth:`cut` numbers them."""
        node = self.cut_nodes(n_groups)
        _, first = np.unique(node, return_index=True)
        return [int(v) for v in node[np.sort(first)]]

    def leaves(self, node: int) -> list[int]:
        """The fine clusters under ``node`` (0..2k-2), ascending."""
        if not 0 <= node < 2 * self.k - 1:
            raise InvalidInputError(f"node must be in 0..{2 * self.k - 2}, got {node}")
        if node < self.k:
            return [node]
        a, b = (int(v) for v in self.merges[node - self.k, :2])
        return sorted(self.leaves(a) + self.leaves(b))

    def to_json(self) -> dict[str, Any]:
        """``{"k", "sizes", "merges": [[a, b, height, n], ...]}``."""
        return {
            "k": self.k,
            "sizes": self.sizes.astype(int).tolist(),
            "merges": [[int(a), int(b), round(float(h), 6), int(n)] for a, b, h, n in self.merges],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClusterTree:
        sizes = np.asarray(data["sizes"], dtype=np.int64)
        merges = np.asarray(data["merges"], dtype=np.float64).reshape(-1, 4)
        if len(merges) != max(len(sizes) - 1, 0):
            raise InvalidInputError(f"a tree over {len(sizes)} clusters needs {len(sizes) - 1} merges, got {len(merges)}")
        return cls(merges, sizes)


def build_tree(Z: np.ndarray, labels: np.ndarray, k: int) -> ClusterTree:
    """Size-weighted Ward linkage of the k clusters of ``Z`` (N, d) under ``labels`` (N,) in 0..k-1.

    The cost of merging clusters a and b is ``n_a n_b / (n_a + n_b) * |m_a - m_b|^2`` (m: the
    mean of the members), the rise in the items' within-cluster sum of squares; heights are
    ``sqrt(2 * cost)``, as scipy's ``ward``. An empty cluster merges first, at height 0.
    """
    Z = np.asarray(Z, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if k < 1:
        raise InvalidInputError(f"k must be >= 1, got {k}")
    if len(labels) != len(Z) or (len(labels) and (labels.min() < 0 or labels.max() >= k)):
        raise InvalidInputError(f"labels must be {len(Z)} cluster ids in 0..{k - 1}")
    sizes = np.bincount(labels, minlength=k).astype(np.int64)
    sums = np.zeros((k, Z.shape[1]))
    np.add.at(sums, labels, Z)
    means = {j: sums[j] / max(sizes[j], 1) for j in range(k)}
    counts = {j: int(sizes[j]) for j in range(k)}
    merges = np.zeros((k - 1, 4))
    for i in range(k - 1):
        keys = sorted(means)
        best: tuple[float, int, int] | None = None
        for x in range(len(keys)):
            for y in range(x + 1, len(keys)):
                a, b = keys[x], keys[y]
                na, nb = counts[a], counts[b]
                cost = 0.0 if na == 0 or nb == 0 else na * nb / (na + nb) * float(((means[a] - means[b]) ** 2).sum())
                if best is None or cost < best[0] - 1e-12:
                    best = (cost, a, b)
        assert best is not None
        cost, a, b = best
        n = counts[a] + counts[b]
        merged = (means[a] * counts[a] + means[b] * counts[b]) / max(n, 1)
        for j in (a, b):
            del means[j], counts[j]
        means[k + i], counts[k + i] = merged, n
        merges[i] = (a, b, np.sqrt(2.0 * cost), n)
    # floating-point ties can leave a height a hair below the previous one
    if len(merges):
        merges[:, 2] = np.maximum.accumulate(merges[:, 2])
    return ClusterTree(merges, sizes)


def names_key(run_id: str, n_groups: int, k: int) -> str:
    """The key a stylist's names at a level are saved under in ``annotations.sqlite``: the run
    id for the fine clusters (``n_groups == k``), ``"<run_id>@<n_groups>"`` for a coarser cut,
    so a name stays at the level it was given (and follows its group by member overlap)."""
    return run_id if n_groups == k else f"{run_id}@{int(n_groups)}"
