"""Steering a search by directions: a calibrated attribute probability added to similarity.

The slider is a scale from "the query as it is" (weight 0) to "the same kind of piece, with
the attribute" (weight 1): each candidate scores

    r + w / (1 - w) * p        (0 <= w < 1)

where ``r`` is its cosine similarity to the query rescaled over the plain query's
``CANDIDATES_PER_RESULT * k`` nearest items to [0, 1] (less for items further away) and
``p`` the direction's calibrated probability that it carries the attribute (a negative weight
uses ``1 - p``: "without"), its spread over the candidates rescaled to that of ``r``. At the top of the scale (|w| = 1) candidates are gated by the
attribute (p >= 0.5) and ranked by similarity alone. Because ``p`` is a probability (a logistic
fit on held-out scores of the examples, see :func:`calibrate`) and ``r`` is rescaled per query,
a slider position means the same for every direction and every catalog, whatever the length of
the raw direction vector. Candidates are the index's ``CANDIDATES_PER_RESULT * k`` nearest
items plus the items with the highest attribute score, so the top results are right.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from core.errors import InvalidInputError

__all__ = ["CANDIDATES_PER_RESULT", "GATE", "calibrate", "check_weights", "probability", "reliability", "steered_rows"]

CANDIDATES_PER_RESULT = 20
GATE = 0.5
TOP_OF_SCALE = 1.0
RELIABILITY = ((0.9, "reliable"), (0.75, "rough"))  # (min cross-validated AUC, words); below: "unreliable"


def reliability(auc: float | None) -> str:
    """A direction's reliability in a stylist's words, from its cross-validated ROC AUC."""
    if auc is None or not np.isfinite(auc):
        return "unknown"
    for low, words in RELIABILITY:
        if auc >= low:
            return words
    return "unreliable"


def calibrate(pos_scores: np.ndarray, neg_scores: np.ndarray) -> dict[str, float]:
    """Logistic calibration of held-out projection scores: ``p = sigmoid(scale * s + bias)``.

    Parameters
    ----------
    pos_scores, neg_scores : (n_pos,), (n_neg,) held-out scores of the examples along the
        direction (each scored by a direction it did not help build).

    The scores are standardised by their pooled spread before an L2 logistic regression
    (C = 1, balanced classes), so the fit, and hence what a probability means, does not depend
    on the raw length of the direction vector.

    Returns
    -------
    ``{"logit_scale": .., "logit_bias": ..}`` in raw score units.
    """
    from sklearn.linear_model import LogisticRegression

    s = np.concatenate([pos_scores, neg_scores]).astype(np.float64)
    y = np.r_[np.ones(len(pos_scores)), np.zeros(len(neg_scores))]
    spread = float(s.std()) or 1.0
    clf = LogisticRegression(C=1.0, class_weight="balanced").fit((s / spread)[:, None], y)
    return {"logit_scale": float(clf.coef_[0, 0] / spread), "logit_bias": float(clf.intercept_[0])}


def probability(direction: Any, X: np.ndarray) -> np.ndarray:
    """(N,) calibrated probability that each row of X (N, d) carries the direction's attribute.

    Uses the direction's ``logit_scale`` / ``logit_bias`` / ``offset`` provenance; a direction
    without them (an old artifact, a principal component) is calibrated on X itself: its
    projections standardised, so the middle of the catalog reads 0.5.
    """
    v = np.asarray(direction.vector, dtype=np.float32)
    s = np.asarray(X, dtype=np.float32) @ v
    prov = direction.provenance
    if "logit_scale" in prov:
        z = float(prov["logit_scale"]) * (s - float(prov.get("offset", 0.0))) + float(prov["logit_bias"])
    else:
        z = 2.0 * (s - float(np.median(s))) / (float(s.std()) or 1.0)
    return (1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))).astype(np.float32)


def check_weights(weights: Mapping[str, float], directions: Mapping[str, Any], dim: int) -> None:
    """InvalidInputError naming an unknown direction, a non-finite weight or a wrong dimension."""
    unknown = [n for n in weights if n not in directions]
    if unknown:
        known = ", ".join(sorted(directions)) or "none"
        raise InvalidInputError(f"unknown direction {', '.join(map(repr, unknown))}; known: {known}")
    for name, w in weights.items():
        if not np.isfinite(w):
            raise InvalidInputError(f"weight of {name!r} must be a finite number; got {w}")
        if np.asarray(directions[name].vector).shape[0] != dim:
            raise InvalidInputError(f"direction {name!r} has dimension {np.asarray(directions[name].vector).shape[0]}; "
                                    f"the embeddings have {dim}")


def _attribute_terms(X: np.ndarray, weights: Mapping[str, float],
                     directions: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, bool]:
    """(N,) weighted attribute term, (N,) bool passing every gate, whether any gate applies."""
    check_weights(weights, directions, X.shape[1])
    term = np.zeros(X.shape[0], dtype=np.float64)
    passes = np.ones(X.shape[0], dtype=bool)
    gated = False
    for name, w in weights.items():
        d = directions[name]
        t = min(abs(float(w)), TOP_OF_SCALE)
        if t == 0:
            continue
        p = probability(d, X)
        p = p if w > 0 else 1.0 - p
        if t >= TOP_OF_SCALE:
            gated = True
            passes &= p >= GATE
        else:
            term += t / (1.0 - t) * p
    return term, passes, gated


def _rescaled(term: np.ndarray, top: float) -> np.ndarray:
    """The attribute term rescaled over the candidates to [0, top] (top = the sum of w / (1 - w)),
    so a weak direction, whose probabilities spread less, moves the ranking as far as a strong one."""
    lo, hi = float(term.min()), float(term.max())
    return (term - lo) / (hi - lo) * top if hi > lo else np.zeros_like(term)


def steered_rows(
    embeddings: np.ndarray,
    query: np.ndarray,
    nearest: np.ndarray,
    k: int,
    weights: Mapping[str, float],
    directions: Mapping[str, Any],
    skip: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best rows for a steered query, best first, and their cosine similarity to it.

    Parameters
    ----------
    embeddings : (N, d) L2-normalised catalog rows.
    query : (d,) unit query.
    nearest : (m,) rows the index returned for the plain query (about ``CANDIDATES_PER_RESULT * k``).
    k : number of results.
    weights : ``{direction name: weight in [-1, 1]}`` (larger magnitudes count as 1).
    directions : known directions by name.
    skip : (N,) bool, rows never returned.
    """
    X = np.asarray(embeddings, dtype=np.float32)
    nearest = np.asarray(nearest, dtype=np.int64)
    nearest = nearest[~skip[nearest]]
    term, passes, gated = _attribute_terms(X, weights, directions)
    ok = passes & ~skip
    n_extra = min(int(ok.sum()), CANDIDATES_PER_RESULT * k)
    by_attribute: np.ndarray = (np.argpartition(-np.where(ok, term, -np.inf), n_extra - 1)[:n_extra] if n_extra
                                else np.zeros(0, dtype=np.int64))
    if gated:  # the gate keeps few items: the most similar passing ones come from the passing set
        passing = np.flatnonzero(ok)
        sims_pass = X[passing] @ query
        top = passing[np.argsort(-sims_pass)[: CANDIDATES_PER_RESULT * k]]
        by_attribute = np.concatenate([np.asarray(by_attribute, dtype=np.int64), top])
    cand = np.unique(np.concatenate([np.asarray(nearest, dtype=np.int64), np.asarray(by_attribute, dtype=np.int64)]))
    cand = cand[ok[cand]]
    if len(cand) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    sims = X[cand] @ np.asarray(query, dtype=np.float32)
    near = X[nearest] @ np.asarray(query, dtype=np.float32) if len(nearest) else sims
    lo, hi = float(near.min()), float(near.max())  # the plain neighbourhood: the same for every direction
    r = (sims - lo) / (hi - lo) if hi > lo else np.ones_like(sims)
    strength = float(sum(t / (1 - t) for t in (min(abs(w), TOP_OF_SCALE) for w in weights.values()) if t < TOP_OF_SCALE))
    order = np.argsort(-(r + _rescaled(term[cand], strength)), kind="stable")[:k]
    return cand[order], sims[order].astype(np.float32)
