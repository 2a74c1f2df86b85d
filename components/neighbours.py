"""Nearest neighbours of a catalog item, for the item view.

The tuned similarity index answers when the similarity step has run (``core.similarity``); until
then, exact cosine search on the frozen backbone features (numpy only), cached by version.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from core.errors import StyleAtlasError
from core.pipeline import DEFAULT_FEATURES
from core.workspace import Workspace


@lru_cache(maxsize=2)
def _unit_features(root: str, name: str, version: int) -> tuple[np.ndarray, dict[str, int], np.ndarray]:
    from core.embed.artifact import load_features

    fs = load_features(Workspace(root, create=False), name.split("/", 1)[1])
    X = np.asarray(fs.features, dtype=np.float32)
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    ids = np.asarray(fs.ids).astype(str)
    return ids, {i: n for n, i in enumerate(ids.tolist())}, X


def frozen_neighbours(ws: Workspace, item_id: str, k: int = 12, name: str = DEFAULT_FEATURES) -> list[tuple[str, float]]:
    """``[(item_id, cosine similarity)]`` of the ``k`` closest items by frozen features (self excluded)."""
    if not ws.has(name):
        return []
    ids, pos, X = _unit_features(str(ws.root), name, ws.version(name) or 0)
    row = pos.get(item_id)
    if row is None:
        return []
    sims = X @ X[row]
    sims[row] = -np.inf
    k = min(k, len(ids) - 1)
    if k <= 0:
        return []
    top = np.argpartition(-sims, k - 1)[:k]
    top = top[np.argsort(-sims[top])]
    return [(str(ids[i]), float(sims[i])) for i in top]


def neighbours(ws: Workspace, item_id: str, k: int = 12) -> tuple[list[tuple[str, float]], str]:
    """Neighbours and where they came from (``"tuned index"`` or ``"frozen features"``)."""
    if ws.has("similarity/default"):
        from core.similarity.artifact import loaded

        try:
            art, _ = loaded(ws)
            hits = art.search(art.vector_of(item_id), k, exclude=(item_id,))
            return [(h.item_id, h.score) for h in hits], "tuned similarity index"
        except StyleAtlasError:
            pass  # e.g. an item newer than the index: the frozen features still know it
    return frozen_neighbours(ws, item_id, k), "frozen features"
