"""Preprocessing of raw features before the heads: centring, optional PCA (whitened), scaling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# PCA is fitted on at most this many items (sampled)
PCA_FIT_ITEMS = 20000


@dataclass(frozen=True)
class Preprocessing:
    """A fitted preprocessing: ``(X - mean) @ components.T / scale``.

    mean : (D,) float32
    components : (p, D) float32 PCA components, or None (no projection)
    scale : (p,) float32 (or (D,) without PCA)
    """

    mean: np.ndarray
    components: np.ndarray | None
    scale: np.ndarray

    @property
    def raw_dim(self) -> int:
        """D, the dimension of the raw features."""
        return int(self.mean.shape[0])

    def apply(self, X: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """Raw features (n, D) → (n, D') float32, in row blocks (``X`` may be a large
        memory-mapped array: only the output is held in full)."""
        X = np.asarray(X)
        comps = self.components
        out = np.empty((len(X), X.shape[1] if comps is None else len(comps)), np.float32)
        for s in range(0, len(X), chunk):
            block = np.asarray(X[s : s + chunk], dtype=np.float32) - self.mean
            if comps is not None:
                block = block @ comps.T
            out[s : s + chunk] = block / self.scale
        return out


def fit_preprocessing(X: np.ndarray, pca_dim: int | None, whiten: bool, random_state: int | None) -> Preprocessing:
    """Fit on features ``X`` (N, D) float32: PCA to ``pca_dim`` (whitened if ``whiten``), or,
    when ``pca_dim`` is None or not below min(N, D), one global scale."""
    D = X.shape[1]
    mean = X.mean(0).astype(np.float32)
    if pca_dim is None or pca_dim >= min(X.shape):
        # one global scale keeps the geometry (a per-dimension one would blow up noise dims)
        scale = np.full(D, float(np.sqrt(((X - mean) ** 2).sum(1).mean() / D)) + 1e-6, np.float32)
        return Preprocessing(mean, None, scale)
    from sklearn.decomposition import PCA

    sample = X
    if len(X) > PCA_FIT_ITEMS:
        rng = np.random.default_rng(random_state)
        sample = X[rng.choice(len(X), PCA_FIT_ITEMS, replace=False)]
    pca = PCA(pca_dim, random_state=random_state).fit(sample)
    pca_scale = np.sqrt(pca.explained_variance_) if whiten else np.ones(pca_dim)
    return Preprocessing(pca.mean_.astype(np.float32), pca.components_.astype(np.float32),
                         (pca_scale + 1e-6).astype(np.float32))
