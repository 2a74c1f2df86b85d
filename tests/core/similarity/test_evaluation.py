"""The similarity step's frozen-vs-tuned evaluation: capped query sets, the same figures below the cap."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_blobs

from core.similarity.retrieval import l2_normalise, retrieval_metrics
from core.similarity.step import _evaluate, _query_sample


def _data(n: int = 600, d: int = 16):
    X, y = make_blobs(n, n_features=d, centers=4, random_state=0)
    X = X.astype(np.float32)
    rng = np.random.default_rng(0)
    views = (X[:, None, :] + rng.normal(0, 0.3, (n, 2, d))).astype(np.float32)
    return X, views, np.array([f"c{c}" for c in y], dtype=object)


def test_query_sample_is_seeded_sorted_and_capped() -> None:
    idx = np.arange(10, 1000)
    small = _query_sample(idx[:50], 100, 0)
    assert np.array_equal(small, idx[:50])
    a, b = _query_sample(idx, 100, 3), _query_sample(idx, 100, 3)
    assert len(a) == 100 and np.array_equal(a, b) and np.all(np.diff(a) > 0) and np.isin(a, idx).all()


def test_evaluation_caps_its_queries_and_matches_the_uncapped_figures_below_the_cap() -> None:
    X, views, labels = _data()
    tuned = l2_normalise(X[:, :8])
    tuned_views = l2_normalise(views[:, :, :8])
    val = np.arange(0, 600, 5)
    full = _evaluate(X, views, tuned, tuned_views, val, labels, None, max_queries=10_000)
    assert full["n_queries"] == len(val)
    want = retrieval_metrics(l2_normalise(X), l2_normalise(views), val, labels, None)
    assert full["frozen"] == want  # the views are searched as they are: normalising them first changes nothing
    capped = _evaluate(X, views, tuned, tuned_views, val, labels, None, max_queries=40)
    assert capped["n_queries"] == 40 and capped["n_validation"] == len(val)
    assert abs(capped["frozen"]["label_precision_at_10"] - full["frozen"]["label_precision_at_10"]) < 0.1
