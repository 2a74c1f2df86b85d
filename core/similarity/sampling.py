"""How the triplet head's training items are split and paired.

The validation split is made by group, so no positive pair straddles train and validation;
each training batch holds two samples per item (an anchor and its positive: another view of
the same image or, where the item has a group, a group partner).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import InvalidInputError
from core.similarity.retrieval import present

__all__ = ["Split", "group_members", "label_classes", "pair_batch", "split_by_group"]


@dataclass(frozen=True)
class Split:
    """Item groups and the validation split of one fit.

    Attributes
    ----------
    keys : (N,) object, each item's group key (``"__<row>"`` for an item without one).
    inverse : (N,) int, group number of each item.
    train_idx, val_idx : int rows of the training and the held-out items.
    """

    keys: np.ndarray
    inverse: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray


def split_by_group(groups: np.ndarray | None, n: int, fraction: float, rng: np.random.Generator) -> Split:
    """Hold out ``round(n_groups * fraction)`` whole groups; InvalidInputError if < 4 items train."""
    given = groups if groups is not None else [None] * n
    keys = np.array([g if present(g) else f"__{i}" for i, g in enumerate(given)], dtype=object)
    uniq, inverse = np.unique(keys.astype(str), return_inverse=True)
    n_val_groups = int(round(len(uniq) * fraction))
    val_groups = set(rng.permutation(len(uniq))[:n_val_groups].tolist())
    is_val = np.array([g in val_groups for g in inverse])
    train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    if len(train_idx) < 4:
        raise InvalidInputError(f"only {len(train_idx)} training items after the validation split")
    return Split(keys, inverse, train_idx, val_idx)


def label_classes(labels: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """(N,) int class of each item for the label term: its label, else its own group key."""
    lab = np.asarray(labels, dtype=object)
    if len(lab) != len(keys):
        raise InvalidInputError(f"labels has {len(lab)} entries for {len(keys)} items")
    lkeys = np.array([f"L:{x}" if present(x) else f"K:{keys[i]}" for i, x in enumerate(lab)], dtype=object)
    return np.unique(lkeys.astype(str), return_inverse=True)[1]


def group_members(train_idx: np.ndarray, inverse: np.ndarray) -> dict[int, np.ndarray]:
    """For each training row with group partners, the training rows of its group (itself included)."""
    by_group: dict[int, list[int]] = {}
    for r in train_idx.tolist():
        by_group.setdefault(int(inverse[r]), []).append(r)
    return {r: np.asarray(rows) for rows in by_group.values() if len(rows) > 1 for r in rows}


def pair_batch(
    items: np.ndarray,
    features: np.ndarray,
    views: np.ndarray | None,
    group_of: np.ndarray,
    members: dict[int, np.ndarray],
    group_prob: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Two samples per item: x (2m, D) float32, y (2m,) int64 group labels.

    Instance 0 of an item is its own features, 1..V its views. The positive is a group
    partner with probability ``group_prob`` (always, without views), else another instance.
    """
    n_views = 0 if views is None else views.shape[1]

    def instance(row: int, avoid: int | None) -> tuple[np.ndarray, int]:
        choices = [c for c in range(n_views + 1) if c != avoid] or [0]
        c = int(rng.choice(choices))
        return (features[row] if c == 0 else views[row, c - 1]), c  # type: ignore[index]

    xs, ys = [], []
    for row in items:
        row = int(row)
        a, ca = instance(row, None)
        others = members.get(row, np.array([row]))
        others = others[others != row]
        if len(others) and (n_views == 0 or rng.random() < group_prob):
            b, _ = instance(int(rng.choice(others)), None)
        else:
            b, _ = instance(row, ca)
        xs += [a, b]
        ys += [int(group_of[row])] * 2
    return np.stack(xs).astype(np.float32), np.asarray(ys, dtype=np.int64)
