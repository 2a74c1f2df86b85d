"""Per-epoch records of a clustering run (``history_``), and their chartable table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.cluster.distances import Distances
from core.errors import InvalidInputError
from core.metrics import evaluate as label_scores
from core.metrics import silhouette

# the scalar columns of a record, as written to ``history.parquet``
HISTORY_COLUMNS = (
    "epoch", "space", "k_before", "k_after", "silhouette", "mean_confidence", "pseudo_label_acc", "novel",
    "buffer", "stability", "reseeded", "growth_rejected", "loss", "acc", "nmi", "ari", "purity", "seconds",
)


def reference_labels(labels: Any, N: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(mask (N,) bool of labelled items, their labels as str) or (None, None).

    ``labels`` (N,) holds None / NaN / "" where an item is unlabelled.
    """
    if labels is None:
        return None, None
    arr = np.asarray(labels, dtype=object)
    if arr.shape != (N,):
        raise InvalidInputError(f"labels must have shape ({N},), got {arr.shape}")
    mask = np.array([not pd.isna(v) and str(v) != "" for v in arr], dtype=bool)
    if not mask.any():
        return None, None
    return mask, np.array([str(v) for v in arr[mask]])


def epoch_record(
    *,
    epoch: int,
    k_before: int,
    k: int,
    Z: np.ndarray,
    pseudo: np.ndarray,
    dist: Distances,
    novel: np.ndarray,
    buffer_len: int,
    stability: float | None,
    reseeded: int,
    head_acc: float | None,
    last_train: dict[str, float],
    reference: tuple[np.ndarray | None, np.ndarray | None],
    silhouette_sample: int,
    random_state: int | None,
) -> dict[str, Any]:
    """One epoch's record: k, silhouette of ``Z`` (N, d) under ``pseudo`` (N,), confidence,
    novelty, stability, and the scores against ``reference`` (mask, labels) where given."""
    sil = silhouette(Z, pseudo, sample_size=silhouette_sample, random_state=random_state)
    rec: dict[str, Any] = {
        "epoch": int(epoch),
        "k_before": int(k_before),
        "k_after": int(k),
        "silhouette": None if sil is None else round(sil, 5),
        "mean_confidence": round(float(dist.confidence.mean()), 5),
        "pseudo_label_acc": None if head_acc is None else round(head_acc, 5),
        "novel": int(novel.sum()),
        "buffer": int(buffer_len),
        "stability": None if stability is None else round(stability, 5),
        "reseeded": int(reseeded),
        "cluster_sizes": np.bincount(pseudo, minlength=k).astype(int).tolist(),
        "loss": round(last_train["loss"], 5) if last_train else None,
    }
    mask, y_ref = reference
    if mask is not None and y_ref is not None and mask.any():
        scores = label_scores(y_ref, pseudo[mask])
        rec.update({m: round(scores[m], 5) for m in ("acc", "nmi", "ari", "purity")})
        rec["f1"] = {c: round(v, 5) for c, v in scores["f1"].items()}
    return rec


def history_table(history: list[dict[str, Any]]) -> pd.DataFrame:
    """The scalar columns (:data:`HISTORY_COLUMNS`) of the records, one row per epoch."""
    return pd.DataFrame([{c: r.get(c) for c in HISTORY_COLUMNS} for r in history])
