"""Rocchio feedback moves a query toward the pieces marked up, away from those marked down."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.similarity.feedback import MAX_MARKED, check_marks, rocchio
from core.similarity.retrieval import exact_topk, l2_normalise


def test_thumbs_up_pulls_the_results_to_the_planted_group():
    rng = np.random.default_rng(0)
    a = l2_normalise(np.array([1.0, 0, 0, 0]) + 0.05 * rng.standard_normal((20, 4)))  # group A
    b = l2_normalise(np.array([0, 1.0, 0, 0]) + 0.05 * rng.standard_normal((20, 4)))  # group B
    base = np.concatenate([a, b])
    q = l2_normalise(np.array([[0.6, 0.8, 0, 0]]))[0]  # leans to B
    before = exact_topk(base, q[None], 10)[0]
    assert (before >= 20).mean() > 0.5  # mostly B
    refined = rocchio(q, base[[0, 1]], base[[20, 21]])
    assert np.linalg.norm(refined) == pytest.approx(1.0, abs=1e-5)
    after = exact_topk(base, refined[None], 10)[0]
    assert (after < 20).all()  # all A now
    np.testing.assert_allclose(rocchio(q, np.zeros((0, 4)), np.zeros((0, 4))), q, atol=1e-6)


def test_marks_are_checked():
    assert check_marks(["a", "b", "a"], ["b"]) == (["a"], ["b"])
    with pytest.raises(InvalidInputError, match="at most"):
        check_marks([f"i{n}" for n in range(MAX_MARKED + 1)], [])
    with pytest.raises(InvalidInputError, match="cancel"):
        rocchio(np.array([1.0, 0]), np.zeros((0, 2)), np.array([[1.0, 0]]), gamma=1.0)
