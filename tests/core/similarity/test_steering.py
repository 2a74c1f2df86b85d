"""Steering: the slider's calibration across directions, the gate at the top of the scale, reliability words."""

from __future__ import annotations

import numpy as np
import pytest

from core.similarity.directions import from_examples
from core.similarity.retrieval import l2_normalise
from core.similarity.steering import GATE, probability, reliability, steered_rows


def _catalog(rng: np.random.Generator, n: int = 600, d: int = 24) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, d) unit rows with two planted attributes, both separable: a strong one (offset 6 on axis 0)
    and a weaker one (offset 3 on axis 1)."""
    base = rng.normal(size=(n, d))
    base[:, :2] = 0
    strong = rng.random(n) < 0.2
    weak = rng.random(n) < 0.2
    X = base + np.outer(strong, np.eye(d)[0]) * 6.0 + np.outer(weak, np.eye(d)[1]) * 3.0
    return l2_normalise(X), strong, weak


def _direction(name: str, X: np.ndarray, has: np.ndarray, rng: np.random.Generator, n: int = 10):
    ids = np.array([f"i{j}" for j in range(len(X))])
    pos = rng.choice(np.flatnonzero(has), n, replace=False)
    neg = rng.choice(np.flatnonzero(~has), n, replace=False)
    return from_examples(name, X, ids, list(ids[pos]), list(ids[neg]))


def _share(X: np.ndarray, has: np.ndarray, d, w: float, queries: np.ndarray, k: int = 10) -> float:
    shares = []
    for q in queries:
        skip = np.zeros(len(X), bool)
        skip[q] = True
        nearest = np.argsort(-(X @ X[q]))[1:201]
        rows, _ = steered_rows(X, X[q], nearest, k, {d.name: w}, {d.name: d}, skip)
        shares.append(has[rows].mean())
    return float(np.mean(shares))


def test_same_slider_value_gives_the_same_share_for_a_strong_and_a_weak_direction() -> None:
    rng = np.random.default_rng(0)
    X, strong, weak = _catalog(rng)
    d_strong, d_weak = _direction("strong", X, strong, rng), _direction("weak", X, weak, rng)
    raw = [np.linalg.norm(X[strong].mean(0) - X[~strong].mean(0)), np.linalg.norm(X[weak].mean(0) - X[~weak].mean(0))]
    assert raw[0] > 1.4 * raw[1]  # raw difference-of-means lengths differ a lot ...
    queries = np.flatnonzero(~strong & ~weak)[:40]
    for w in (0.3, 0.6, 0.9):  # ... the calibrated slider does not
        s_strong, s_weak = _share(X, strong, d_strong, w, queries), _share(X, weak, d_weak, w, queries)
        assert abs(s_strong - s_weak) <= 0.15, (w, s_strong, s_weak)
    assert _share(X, strong, d_strong, 0.0, queries) < 0.4 < _share(X, strong, d_strong, 0.9, queries)


def test_top_of_the_scale_never_returns_an_item_below_the_gate() -> None:
    rng = np.random.default_rng(1)
    X, _, weak = _catalog(rng)
    d = _direction("weak", X, weak, rng, n=5)
    p = probability(d, X)
    for q in np.flatnonzero(~weak)[:30]:
        skip = np.zeros(len(X), bool)
        skip[q] = True
        nearest = np.argsort(-(X @ X[q]))[:200]
        for w, passes in ((1.0, p >= GATE), (-1.0, 1 - p >= GATE)):
            rows, sims = steered_rows(X, X[q], nearest, 10, {"weak": w}, {"weak": d}, skip)
            assert len(rows) == 10 and passes[rows].all() and q not in rows
            # the most similar passing items, in order
            best = [i for i in np.argsort(-(X @ X[q])) if passes[i] and i != q][:10]
            assert rows.tolist() == best
            assert np.all(np.diff(sims) <= 1e-6)


def test_probability_is_calibrated_on_the_examples() -> None:
    rng = np.random.default_rng(2)
    X, strong, _ = _catalog(rng)
    p = probability(_direction("strong", X, strong, rng), X)
    assert p[strong].mean() > 0.8 and p[~strong].mean() < 0.2


@pytest.mark.parametrize(("auc", "words"), [(0.97, "reliable"), (0.8, "rough"), (0.6, "unreliable"), (None, "unknown")])
def test_reliability_in_words(auc: float | None, words: str) -> None:
    assert reliability(auc) == words
