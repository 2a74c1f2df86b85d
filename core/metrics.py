"""Clustering quality against reference labels.

All functions take ``y_true`` (N,) class labels of any hashable type and ``y_pred`` (N,)
cluster ids; the number of clusters may differ from the number of classes.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score

from core.errors import InvalidInputError


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.ndim != 1 or len(y_true) != len(y_pred):
        raise InvalidInputError(
            f"labels and predictions must be 1-d of equal length, got {y_true.shape} and {y_pred.shape}"
        )
    if len(y_true) == 0:
        raise InvalidInputError("no labelled items to evaluate")
    return y_true, y_pred


def contingency(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts table.

    Returns
    -------
    table : (n_clusters, n_classes) int, ``table[j, c]`` = items of cluster j with class c
    clusters : (n_clusters,) the cluster ids in row order
    classes : (n_classes,) the class labels in column order
    """
    y_true, y_pred = _check(y_true, y_pred)
    classes, t = np.unique(y_true, return_inverse=True)
    clusters, p = np.unique(y_pred, return_inverse=True)
    table = np.zeros((len(clusters), len(classes)), dtype=np.int64)
    np.add.at(table, (p, t), 1)
    return table, clusters, classes


def hungarian_match(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """One-to-one cluster → class matching maximising the matched items.

    Returns ``{cluster_id: class_label}`` for matched clusters (at most min(k, C) pairs).
    """
    table, clusters, classes = contingency(y_true, y_pred)
    rows, cols = linear_sum_assignment(-table)
    return {clusters[r].item(): classes[c].item() for r, c in zip(rows, cols)}


def hungarian_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unsupervised clustering accuracy: best one-to-one matching, fraction correct."""
    table, _, _ = contingency(y_true, y_pred)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / table.sum())


def nmi(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Normalised mutual information (arithmetic mean normalisation)."""
    y_true, y_pred = _check(y_true, y_pred)
    return float(normalized_mutual_info_score(y_true, y_pred))


def ari(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Adjusted Rand index."""
    y_true, y_pred = _check(y_true, y_pred)
    return float(adjusted_rand_score(y_true, y_pred))


def purity(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of items whose cluster's majority class is their class."""
    table, _, _ = contingency(y_true, y_pred)
    return float(table.max(axis=1).sum() / table.sum())


def per_class_f1(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """F1 of each class against its Hungarian-matched cluster (0 when unmatched).

    Returns ``{str(class_label): f1}``.
    """
    table, _, classes = contingency(y_true, y_pred)
    rows, cols = linear_sum_assignment(-table)
    out = {str(c): 0.0 for c in classes}
    for r, c in zip(rows, cols):
        tp = table[r, c]
        if tp == 0:
            continue
        precision = tp / table[r].sum()
        recall = tp / table[:, c].sum()
        out[str(classes[c])] = float(2 * precision * recall / (precision + recall))
    return out


def silhouette(
    X: np.ndarray,
    labels: np.ndarray,
    sample_size: int = 2000,
    metric: str = "cosine",
    random_state: int | None = 0,
) -> float | None:
    """Silhouette of ``X`` (N, D) under ``labels`` (N,), on a random sample of at most
    ``sample_size`` items. ``None`` when it is undefined (fewer than 2 or N clusters)."""
    labels = np.asarray(labels)
    n = len(labels)
    rng = np.random.default_rng(random_state)
    idx = rng.choice(n, size=sample_size, replace=False) if n > sample_size else np.arange(n)
    k = len(np.unique(labels[idx]))
    if k < 2 or k >= len(idx):
        return None
    return float(silhouette_score(X[idx], labels[idx], metric=metric))


def evaluate(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """All label-based scores: ``acc``, ``nmi``, ``ari``, ``purity``, ``f1`` (per class)."""
    return {
        "acc": hungarian_accuracy(y_true, y_pred),
        "nmi": nmi(y_true, y_pred),
        "ari": ari(y_true, y_pred),
        "purity": purity(y_true, y_pred),
        "f1": per_class_f1(y_true, y_pred),
    }
