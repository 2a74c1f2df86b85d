"""The held-out split test that backs growth, and growth to the planted number of groups."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from core.cluster import AdaptiveDeepCluster
from core.cluster.kselect import candidates, check_alpha, null_quantile, split_statistic, split_test
from core.errors import InvalidInputError
from core.metrics import nmi

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = dict(batch_size=64, lr=1e-3, hidden_dim=32, out_dim=16, kmeans_batch_size=256, silhouette_sample=300,
            neighbor_weight=0.0, init_umap=None, novelty_buffer=20)


def test_statistic_and_its_null():
    rng = np.random.default_rng(0)
    assert split_statistic(np.r_[np.zeros(50), np.ones(50)]) == pytest.approx(1.0)
    assert split_statistic(np.ones(10)) == 0.0
    # a normal sample: about 2/pi; the null quantile sits just above that
    assert split_statistic(rng.standard_normal(5000)) == pytest.approx(2 / np.pi, abs=0.02)
    q = null_quantile(200, 0.01)
    assert 2 / np.pi < q < 0.8
    assert null_quantile(2000, 0.01) < q  # tighter with more items


def test_split_test_accepts_two_groups_and_rejects_one():
    rng = np.random.default_rng(0)
    one = rng.normal(0, 1, (400, 8)) * np.array([3, 1, 1, 1, 1, 1, 1, 1])  # elongated, still one group
    two = np.vstack([rng.normal(0, 1, (200, 8)) + 5 * np.eye(8)[0], rng.normal(0, 1, (200, 8)) - 5 * np.eye(8)[0]])
    rejected = split_test(one, np.arange(400), 0, 0.01, seed=0)
    accepted = split_test(two, np.arange(400), 0, 0.01, seed=0)
    assert not rejected.accepted and rejected.statistic < rejected.null
    assert accepted.accepted and accepted.centroids.shape == (2, 8)
    assert accepted.record()["accepted"] is True
    assert not split_test(two, np.arange(20), 0, 0.01, seed=0).accepted  # too few members


def test_candidates_hold_the_most_novel_samples():
    labels = np.array([0] * 5 + [1] * 5 + [2] * 5)
    assert candidates(labels, np.array([5, 6, 0, 11, 12, 13]), 3) == [2, 1, 0]
    assert candidates(labels, np.array([], dtype=int), 3) == []


@pytest.mark.parametrize("bad", [0, 0.5, -0.1, 1, True, "0.01", None])
def test_bad_alpha(bad):
    with pytest.raises(InvalidInputError, match="split_alpha"):
        check_alpha(bad)
    X, _ = make_blobs(60, n_features=4, centers=3, random_state=0)
    with pytest.raises(InvalidInputError, match="split_alpha"):
        AdaptiveDeepCluster(k_init=2, split_alpha=bad).fit(X.astype(np.float32))


def test_bad_k_select():
    X, _ = make_blobs(60, n_features=4, centers=3, random_state=0)
    with pytest.raises(InvalidInputError, match="k_select must be 'split' or 'guard'"):
        AdaptiveDeepCluster(k_init=2, k_select="bic").fit(X.astype(np.float32))


def planted(n_groups, seed=0, n=120, d=16):
    X, y = make_blobs(n_groups * n, n_features=d, centers=n_groups, cluster_std=1.0, center_box=(-12, 12),
                      random_state=seed)
    return X.astype(np.float32), y


@pytest.mark.parametrize("seed", [0, 1])
def test_k_grows_to_the_planted_count(seed):
    X, y = planted(8, seed)
    m = AdaptiveDeepCluster(k_init=3, k_max=15, n_epochs=14, min_epochs=10, random_state=seed, **FAST).fit(X, labels=y)
    assert abs(m.k_ - 8) <= 1, [(r["k_after"], r["split_tests"]) for r in m.history_]
    assert nmi(y, m.labels_) > 0.9
    assert any(t["accepted"] for r in m.history_ for t in r["split_tests"])


def test_no_growth_with_fewer_groups_than_k_init():
    X, y = planted(3)
    m = AdaptiveDeepCluster(k_init=4, k_max=12, n_epochs=10, min_epochs=10, **FAST).fit(X)
    assert m.k_ == 4, [(r["k_after"], r["split_tests"]) for r in m.history_]
