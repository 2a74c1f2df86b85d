"""Names a stylist can read, and representative items, for clusters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.imagenet import class_name


@dataclass(frozen=True)
class ClusterName:
    """How one cluster is presented.

    name : e.g. "Pants · jean / miniskirt" (catalog label · ImageNet classes).
    label : most common catalog label among members, or None.
    label_share : fraction of labelled members carrying ``label`` (0 when none).
    imagenet : top ImageNet class names of the members, most likely first.
    """

    name: str
    label: str | None
    label_share: float
    imagenet: tuple[str, ...]


def majority_label(values: np.ndarray) -> tuple[str | None, float]:
    """Most common non-missing value of ``values`` (n,) and its share of the non-missing ones."""
    vals = [str(v) for v in values if not pd.isna(v) and str(v) != ""]
    if not vals:
        return None, 0.0
    uniq, counts = np.unique(np.asarray(vals), return_counts=True)
    best = int(counts.argmax())  # np.unique sorts, so ties go to the alphabetically first
    return str(uniq[best]), float(counts[best] / len(vals))


def top_imagenet(topk_idx: np.ndarray, topk_prob: np.ndarray, n: int = 2) -> tuple[str, ...]:
    """The ``n`` ImageNet classes with the most probability mass over members.

    topk_idx (m, K) int class indices, topk_prob (m, K) their probabilities.
    """
    if len(topk_idx) == 0:
        return ()
    mass = np.zeros(1000, np.float64)
    np.add.at(mass, np.asarray(topk_idx, dtype=np.int64).ravel(), np.asarray(topk_prob, np.float64).ravel())
    order = np.argsort(-mass, kind="stable")[:n]
    return tuple(class_name(int(i)) for i in order if mass[i] > 0)


def name_clusters(
    labels: np.ndarray,
    k: int,
    catalog_labels: np.ndarray | None = None,
    topk_idx: np.ndarray | None = None,
    topk_prob: np.ndarray | None = None,
    n_imagenet: int = 2,
) -> list[ClusterName]:
    """Name clusters ``0..k-1`` from their members.

    Parameters
    ----------
    labels : (N,) cluster of each item.
    catalog_labels : (N,) catalog label per item (None / NaN / "" when missing), or None.
    topk_idx, topk_prob : (N, K) ImageNet top-K of each item, or None.
    """
    labels = np.asarray(labels)
    out = []
    for j in range(k):
        members = np.flatnonzero(labels == j)
        label, share = (None, 0.0)
        if catalog_labels is not None and len(members):
            label, share = majority_label(np.asarray(catalog_labels, dtype=object)[members])
        classes: tuple[str, ...] = ()
        if topk_idx is not None and topk_prob is not None and len(members):
            classes = top_imagenet(np.asarray(topk_idx)[members], np.asarray(topk_prob)[members], n_imagenet)
        parts = [p for p in (label, " / ".join(classes)) if p]
        name = " · ".join(parts) if parts else f"cluster {j}"
        out.append(ClusterName(name, label, share, classes))
    return out


def representatives(Z: np.ndarray, labels: np.ndarray, centroids: np.ndarray, n: int = 8) -> list[np.ndarray]:
    """Per cluster, the row indices of its ``n`` members nearest the centroid (by cosine).

    Z (N, d) and centroids (k, d) are L2-normalised; returns k arrays of at most n ints.
    """
    labels = np.asarray(labels)
    out = []
    for j in range(len(centroids)):
        members = np.flatnonzero(labels == j)
        sims = Z[members] @ centroids[j]
        out.append(members[np.argsort(-sims, kind="stable")[:n]])
    return out
