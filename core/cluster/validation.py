"""Validation of the estimator's hyperparameters and of the feature matrices given to it."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.cluster.kselect import check_alpha
from core.errors import InvalidInputError


def check_features(X: Any, name: str = "features") -> np.ndarray:
    """Validate a feature matrix: 2-d (or 3-d for views), numeric and finite; returns it as an array."""
    arr = np.asarray(X)
    if arr.dtype.kind not in "fiu":
        raise InvalidInputError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim not in (2, 3) or arr.shape[0] == 0 or arr.shape[-1] == 0:
        raise InvalidInputError(f"{name} must be a non-empty (N, D) matrix, got shape {arr.shape}")
    flat = arr.reshape(arr.shape[0], -1)
    # in row blocks: a catalog's views can be gigabytes, memory-mapped; no full-size temporary
    finite = np.concatenate([np.isfinite(flat[s : s + 4096]).all(axis=1) for s in range(0, len(flat), 4096)])
    if not finite.all():
        bad = np.flatnonzero(~finite)
        shown = ", ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else "")
        raise InvalidInputError(f"{name} contain NaN or infinite values in {len(bad)} rows (rows {shown})")
    return arr


def check_params(est: Any) -> None:
    """:class:`InvalidInputError` naming the first invalid hyperparameter of ``est``."""
    if est.k_init < 2:
        raise InvalidInputError(f"k_init must be >= 2, got {est.k_init}")
    if est.k_init > est.k_max:
        raise InvalidInputError(f"k_init ({est.k_init}) must not exceed k_max ({est.k_max})")
    if est.n_epochs < 0 or est.min_epochs < 0:
        raise InvalidInputError("n_epochs and min_epochs must be >= 0")
    if est.reassign_every < 1 or est.checkpoint_every < 1:
        raise InvalidInputError("reassign_every and checkpoint_every must be >= 1")
    if not 0.0 < est.stop_stability <= 1.0:
        raise InvalidInputError(f"stop_stability must be in (0, 1], got {est.stop_stability}")
    if est.balance not in ("sample", "weight", "none"):
        raise InvalidInputError(f"balance must be 'sample', 'weight' or 'none', got {est.balance!r}")
    if est.lr <= 0 or est.weight_decay < 0 or est.batch_size < 2:
        raise InvalidInputError("lr must be > 0, weight_decay >= 0, batch_size >= 2")
    if est.pca_dim is not None and est.pca_dim < 2:
        raise InvalidInputError(f"pca_dim must be >= 2 or None, got {est.pca_dim}")
    if est.init_umap is not None and est.init_umap < 2:
        raise InvalidInputError(f"init_umap must be >= 2 or None, got {est.init_umap}")
    if est.neighbor_weight < 0 or est.n_neighbors < 1:
        raise InvalidInputError("neighbor_weight must be >= 0 and n_neighbors >= 1")
    if est.k_select not in ("split", "guard"):
        raise InvalidInputError(f"k_select must be 'split' or 'guard', got {est.k_select!r}")
    check_alpha(est.split_alpha)
    est.novelty_config  # noqa: B018 - validates the thresholds


def check_fit_input(est: Any, features: Any, views: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Validated parameters of ``est``, features (N, D) and views (N, V, D) or None (no views)."""
    check_params(est)
    X = check_features(features)
    if X.ndim != 2:
        raise InvalidInputError(f"features must be (N, D), got shape {X.shape}")
    N, D = X.shape
    if N < est.k_init:
        raise InvalidInputError(f"fewer items ({N}) than clusters (k_init={est.k_init})")
    if views is None:
        return X, None
    V = check_features(views, "views")
    if V.ndim != 3 or V.shape[0] != N or V.shape[2] != D:
        raise InvalidInputError(f"views must have shape ({N}, V, {D}), got {V.shape}")
    return X, (V if V.shape[1] else None)
