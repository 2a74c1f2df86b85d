"""Retrieval metrics and exact cosine top-k search (numpy only).

Partner-finding top-k accuracy (does a view, or a group partner, find its own item?) and
label precision@k: the figures the similarity step reports for frozen and tuned embeddings,
and the exact search the annoy index's recall is measured against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "exact_topk",
    "group_partners",
    "l2_normalise",
    "label_precision_at_k",
    "partner_topk_accuracy",
    "present",
    "retrieval_metrics",
]

_BLOCK = 1024  # query rows per similarity block


def present(x: Any) -> bool:
    """Whether a label or group key is there: not None, not NaN, not empty."""
    return x is not None and x == x and str(x) != ""


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm (zero rows stay zero). (n, d) -> (n, d) float32."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def exact_topk(base: np.ndarray, queries: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Exact cosine top-k by numpy, in blocks of query rows.

    Parameters
    ----------
    base : (N, d) L2-normalised rows.
    queries : (n, d) L2-normalised rows.
    k : neighbours per query (at most N).
    exclude : (n,) base row to leave out per query (the query itself), or None.

    Returns
    -------
    (n, k) int64 row indices, most similar first.
    """
    k = min(k, base.shape[0])
    out = np.empty((queries.shape[0], k), dtype=np.int64)
    for s in range(0, queries.shape[0], _BLOCK):
        sims = queries[s:s + _BLOCK] @ base.T
        if exclude is not None:
            sims[np.arange(sims.shape[0]), np.asarray(exclude)[s:s + _BLOCK]] = -np.inf
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
        out[s:s + _BLOCK] = np.take_along_axis(part, order, axis=1)
    return out


def _topk(queries: np.ndarray, gallery: np.ndarray, k: int, exclude: np.ndarray | None) -> np.ndarray:
    """Indices (n, k) of the k most cosine-similar gallery rows per query, best first."""
    return exact_topk(l2_normalise(gallery), l2_normalise(queries), k, exclude)


def partner_topk_accuracy(
    queries: np.ndarray,
    gallery: np.ndarray,
    partners: Sequence[set[int]],
    exclude: np.ndarray | None = None,
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, float]:
    """Share of queries that find one of their partners among their top k.

    Parameters
    ----------
    queries : (n, d) query vectors.
    gallery : (m, d) gallery vectors.
    partners : n sets of gallery row indices that count as a hit for each query.
    exclude : (n,) gallery row to leave out per query (the query itself), or None.
    ks : the k values.

    Returns
    -------
    ``{"top1": .., "top5": .., "top10": ..}``.
    """
    top = _topk(queries, gallery, max(ks), exclude)
    out = {}
    for k in ks:
        hits = [bool(partners[i] & set(top[i, :k].tolist())) for i in range(len(queries))]
        out[f"top{k}"] = float(np.mean(hits)) if hits else float("nan")
    return out


def label_precision_at_k(
    embeddings: np.ndarray, labels: np.ndarray, query_idx: np.ndarray, k: int = 10
) -> float:
    """Mean share of the k nearest neighbours (self excluded) sharing the query's label.

    Parameters
    ----------
    embeddings : (N, d) vectors of the labelled items only.
    labels : (N,) labels.
    query_idx : (n,) rows used as queries.
    """
    labels = np.asarray(labels)
    if len(query_idx) == 0:
        return float("nan")
    top = _topk(embeddings[query_idx], embeddings, k, np.asarray(query_idx))
    return float(np.mean(labels[top] == labels[np.asarray(query_idx)][:, None]))


def group_partners(groups: np.ndarray | None, idx: np.ndarray) -> list[set[int]] | None:
    """For each row in idx, the other rows of its group; None if no row has a partner."""
    if groups is None:
        return None
    by_group: dict[Any, list[int]] = {}
    for i, g in enumerate(groups):
        if present(g):
            by_group.setdefault(g, []).append(i)
    out = [set(by_group.get(groups[i], [])) - {int(i)} for i in idx]
    return out if any(out) else None


def retrieval_metrics(
    items: np.ndarray,
    views: np.ndarray | None,
    query_idx: np.ndarray,
    labels: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, float]:
    """Partner-finding top-k accuracy and label precision@10 for a set of query rows.

    Partners are the other members of the query's group where groups exist; otherwise the
    query is the first augmented view of an item and its partner is the item itself.

    Parameters
    ----------
    items : (N, d) vectors of every catalog item (the gallery).
    views : (N, V, d) vectors of augmented views, or None.
    query_idx : (n,) query rows.
    labels : (N,) labels (missing as None / "" / NaN), or None.
    groups : (N,) group keys, or None.
    """
    query_idx = np.asarray(query_idx, dtype=np.int64)
    out: dict[str, float] = {}
    partners = group_partners(groups, query_idx)
    if partners is not None:
        keep = np.array([bool(p) for p in partners])
        acc = partner_topk_accuracy(
            items[query_idx[keep]], items, [p for p in partners if p], exclude=query_idx[keep], ks=ks
        )
        out.update({f"partner_{k}": v for k, v in acc.items()})
        out["partner_source"] = "group"  # type: ignore[assignment]
    elif views is not None and views.shape[1] > 0:
        acc = partner_topk_accuracy(views[query_idx, 0], items, [{int(i)} for i in query_idx], ks=ks)
        out.update({f"partner_{k}": v for k, v in acc.items()})
        out["partner_source"] = "view"  # type: ignore[assignment]
    if labels is not None:
        lab = np.asarray(labels, dtype=object)
        has = np.array([present(x) for x in lab])
        if has.sum() > 10:
            pos = np.full(len(lab), -1)
            pos[has] = np.arange(has.sum())
            q = pos[query_idx[has[query_idx]]]
            out["label_precision_at_10"] = label_precision_at_k(items[has], lab[has].astype(str), q, 10)
    return out
