"""More like this, less like that: Rocchio relevance feedback on the served embedding.

``q' = a q + b mean(up) - c mean(down)``, L2-normalised, where ``up`` and ``down`` are the
served-space embeddings (tuned or frozen, whichever the similarity artifact serves) of the
results a stylist marked. The marked items themselves leave the results: the ups are known
already, the downs are unwanted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.errors import InvalidInputError
from core.similarity.retrieval import l2_normalise

__all__ = ["ALPHA", "BETA", "GAMMA", "MAX_MARKED", "check_marks", "rocchio"]

ALPHA, BETA, GAMMA = 1.0, 0.75, 0.25  # the classic Rocchio weights (Manning et al., ch. 9)
MAX_MARKED = 200  # thumbs per side one query may carry


def check_marks(up: Sequence[str], down: Sequence[str]) -> tuple[list[str], list[str]]:
    """The marked ids, deduplicated, an item on both sides kept on its latest (down) side only;
    InvalidInputError past ``MAX_MARKED`` a side or for a non-text id."""
    ups = list(dict.fromkeys(up))
    downs = list(dict.fromkeys(down))
    for side, ids in (("up", ups), ("down", downs)):
        if len(ids) > MAX_MARKED:
            raise InvalidInputError(f"{len(ids)} thumbs {side}; at most {MAX_MARKED} a side")
        if any(not isinstance(i, str) or not i for i in ids):
            raise InvalidInputError(f"thumbs {side} holds an invalid item id")
    down_set = set(downs)
    return [i for i in ups if i not in down_set], downs


def rocchio(query: np.ndarray, up: np.ndarray, down: np.ndarray, alpha: float = ALPHA, beta: float = BETA,
            gamma: float = GAMMA) -> np.ndarray:
    """The refined query.

    Parameters
    ----------
    query : (d,) the query in the served space.
    up, down : (n_up, d), (n_down, d) embeddings of the results marked up / down (either may
        have no rows; their mean then adds nothing).

    Returns
    -------
    (d,) float32 unit vector (the query itself, normalised, when nothing is marked).
    """
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    d = q.shape[0]
    parts = [alpha * l2_normalise(q[None])[0]]
    for rows, w in ((up, beta), (down, -gamma)):
        r = np.asarray(rows, dtype=np.float32).reshape(-1, d) if np.size(rows) else np.zeros((0, d), np.float32)
        if len(r):
            parts.append(w * l2_normalise(r).mean(axis=0))
    out = np.sum(parts, axis=0)
    if not np.all(np.isfinite(out)) or np.linalg.norm(out) < 1e-9:
        raise InvalidInputError("the marks cancel the query out; remove a thumbs-down")
    return l2_normalise(out[None])[0]
