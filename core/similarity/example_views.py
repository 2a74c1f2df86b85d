"""The augmented views of catalog items in the served space, for directions built from few examples.

A stylist picks 5–20 examples a side; each brings its cached augmented views (the features
artifact's ``views``, the same near-duplicates the similarity step validates with) to its side's
mean (:func:`core.similarity.directions.from_examples`). :class:`ServedViews` maps the rows asked
for, and only those, through the artifact's embedder, so building a direction never transforms
the whole catalog.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from core.similarity.retrieval import l2_normalise

__all__ = ["ServedViews"]


class ServedViews:
    """``views(rows)`` → (len(rows), V, d) float32 unit rows: the augmented views of the
    similarity artifact's rows ``rows`` in its served space; V = 0 (no augmentation) when the
    features have no views or no longer row the artifact's items.

    Parameters
    ----------
    root : the workspace folder.
    backbone : the features the artifact was trained on.
    ids : (N,) the artifact's item ids (row order).
    embedder : ``embedder()`` → an object whose ``transform`` maps (n, D) features to the served space.
    """

    def __init__(self, root: str | Path, backbone: str, ids: np.ndarray, embedder: Any) -> None:
        self.root, self.backbone, self.ids, self._embedder = str(root), backbone, np.asarray(ids).astype(str), embedder

    @functools.cached_property
    def _views(self) -> np.ndarray | None:
        """(N, V, D) memory-mapped frozen views in the artifact's row order, or None."""
        from core.embed.artifact import load_features
        from core.errors import StyleAtlasError
        from core.workspace import Workspace

        try:
            fs = load_features(Workspace(self.root, create=False), self.backbone)
        except StyleAtlasError:
            return None
        if fs.views is None or not np.array_equal(np.asarray(fs.ids).astype(str), self.ids):
            return None
        return fs.views

    @functools.cached_property
    def _transform(self) -> Any:
        return self._embedder().transform

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        views = self._views
        if views is None or views.shape[1] == 0 or len(rows) == 0:
            return np.zeros((len(rows), 0, 0 if views is None else 0), np.float32)
        raw = np.asarray(views[rows], dtype=np.float32)  # (n, V, D)
        n, v, d = raw.shape
        out = l2_normalise(np.asarray(self._transform(raw.reshape(n * v, d)), dtype=np.float32))
        return out.reshape(n, v, -1)
