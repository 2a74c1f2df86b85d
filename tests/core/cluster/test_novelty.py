import numpy as np
import pytest

from core.cluster.distances import Distances, centroid_distances
from core.cluster.novelty import (
    NoveltyBuffer,
    NoveltyConfig,
    growth_seed,
    novel_mask,
    seed_from_novel,
)
from core.errors import InvalidInputError


def test_centroid_distances_against_brute_force():
    rng = np.random.default_rng(0)
    Z, C = rng.normal(size=(50, 4)), rng.normal(size=(3, 4))
    d = centroid_distances(Z, C, chunk=7)
    full = np.linalg.norm(Z[:, None, :] - C[None, :, :], axis=2)
    assert np.array_equal(d.nearest, full.argmin(1))
    assert np.allclose(d.d_min, full.min(1), atol=1e-5)
    assert np.allclose(d.d_max, full.max(1), atol=1e-5)


def test_confidence_hand_computed():
    d = Distances(np.zeros(3, int), np.array([1.0, 2.0, 0.0]), np.array([4.0, 2.5, 0.0]))
    assert np.allclose(d.confidence, [0.75, 0.2, 1.0])


def test_distance_threshold_mu_plus_two_sigma():
    # 19 samples at distance 1, one at 10: mu = 1.45, sigma = 1.96..., threshold ~ 5.37
    d_min = np.array([1.0] * 19 + [10.0])
    d = Distances(np.zeros(20, int), d_min, np.full(20, 100.0))  # confidences all >= 0.9
    mask = novel_mask(d, NoveltyConfig())
    assert mask.tolist() == [False] * 19 + [True]


def test_confidence_threshold_alone_flags():
    d_min = np.ones(10)
    d_max = np.array([10.0] * 9 + [2.0])  # last: confidence 0.5 < 0.6
    d = Distances(np.zeros(10, int), d_min, d_max)
    assert novel_mask(d).tolist() == [False] * 9 + [True]
    # a lower threshold accepts it: thresholds are configuration
    assert not novel_mask(d, NoveltyConfig(min_confidence=0.4)).any()


def test_buffer_dedupes_and_fills():
    buf = NoveltyBuffer(capacity=4)
    buf.add(np.array([1, 2, 2]))
    assert len(buf) == 2 and not buf.full
    buf.add(np.array([2, 3, 4]))
    assert buf.full and buf.indices().tolist() == [1, 2, 3, 4]
    buf.retain(np.array([2, 4, 9]))
    assert buf.indices().tolist() == [2, 4]
    buf.clear()
    assert len(buf) == 0


def test_seed_ignores_stragglers():
    rng = np.random.default_rng(1)
    group = rng.normal(loc=5.0, scale=0.1, size=(80, 2))
    stragglers = rng.uniform(-20, 20, size=(20, 2))
    seed, members = seed_from_novel(np.vstack([stragglers, group]))
    assert np.linalg.norm(seed - 5.0) < 0.3
    assert len(members) == 50 and (members >= 20).all()  # all from the group


@pytest.mark.parametrize(
    "kwargs", [{"n_sigma": -1}, {"min_confidence": 1.5}, {"buffer_size": 0}]
)
def test_bad_thresholds_rejected(kwargs):
    with pytest.raises(InvalidInputError):
        NoveltyConfig(**kwargs)


def test_novel_mask_with_a_fitted_models_stats_uses_those_thresholds():
    """New items are judged against the fit's mu / sigma, not their own: one item at distance
    0.5 is novel against a fit of mu 0.1, sigma 0.1, and not when judged against itself."""
    d = Distances(np.zeros(1, int), np.array([0.5]), np.array([5.0]))
    assert novel_mask(d, NoveltyConfig(), stats=(0.1, 0.1)).tolist() == [True]
    assert novel_mask(d, NoveltyConfig()).tolist() == [False]


def test_growth_guard_accepts_a_coherent_group_and_rejects_stragglers():
    rng = np.random.default_rng(0)
    group = np.array([0.0, 1.0]) + rng.normal(0, 0.01, size=(20, 2))
    Z = group / np.linalg.norm(group, axis=1, keepdims=True)
    held = np.arange(20)
    far = np.full(20, 1.0)  # their current centroids are far away: a new cluster explains them
    seed = growth_seed(Z, held, far)
    assert seed is not None and seed.shape == (1, 2)
    assert np.isclose(np.linalg.norm(seed), 1.0, atol=1e-5) and seed[0, 1] > 0.99
    near = np.zeros(20)  # already on their centroids: the seed cannot do better
    assert growth_seed(Z, held, near) is None
