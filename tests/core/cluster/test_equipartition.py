import numpy as np

from core.cluster import AdaptiveDeepCluster
from core.cluster.equipartition import balanced_centroids, sinkhorn


def _unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_sinkhorn_rows_are_distributions_and_clusters_share_items_evenly():
    rng = np.random.default_rng(0)
    S = rng.uniform(-0.3, 0.3, size=(300, 3)).astype(np.float32)  # cosine-like scores
    S[:, 0] += 0.3  # every item prefers cluster 0
    Q = sinkhorn(S, eps=0.05)
    np.testing.assert_allclose(Q.sum(1), 1.0, rtol=1e-4)
    np.testing.assert_allclose(Q.sum(0), 100.0, rtol=0.05)
    assert np.bincount(Q.argmax(1), minlength=3).min() >= 80  # not all in cluster 0


def test_balanced_centroids_undo_a_split_group_and_a_swallowing_cluster():
    """Three equal groups; k-means-style centroids that split group A and let one centroid
    swallow B and C: the balanced refinement ends with one centroid per group."""
    rng = np.random.default_rng(1)
    centres = np.eye(3, 8, dtype=np.float32) * 4
    Z = _unit(np.vstack([c + rng.normal(scale=0.5, size=(200, 8)) for c in centres]).astype(np.float32))
    truth = np.repeat(np.arange(3), 200)
    bad = _unit(np.vstack([centres[0] + [0, 0.8, 0, 0, 0, 0, 0, 0], centres[0] - [0, 0.8, 0, 0, 0, 0, 0, 0],
                           centres[1] + centres[2]]).astype(np.float32))
    before = (Z @ bad.T).argmax(1)
    assert len(np.unique(before[truth == 0])) == 2  # the bad start really splits A
    C = balanced_centroids(Z, bad)
    after = (Z @ C.T).argmax(1)
    for g in range(3):
        assert np.bincount(after[truth == g], minlength=3).max() >= 190  # one cluster per group
    assert len(np.unique(after)) == 3
    np.testing.assert_allclose(np.linalg.norm(C, axis=1), 1.0, rtol=1e-5)


def test_deepcluster_with_equipartition_keeps_equal_groups_and_its_checkpoint_says_so(tmp_path):
    """Four equal groups, one stretched along an axis and two side by side: the loop with
    balanced pseudo-labels finds them, and the setting survives save / load."""
    rng = np.random.default_rng(0)
    D = 16
    centres = np.eye(4, D) * 8
    centres[2] = centres[1] + np.eye(1, D, 9)[0] * 4.0
    stretched = centres[0] + rng.normal(scale=0.4, size=(150, D))
    stretched[:, 5] += rng.normal(scale=5.0, size=150)
    X = np.vstack([stretched] + [centres[g] + rng.normal(scale=0.3, size=(150, D)) for g in (1, 2, 3)])
    y = np.repeat(np.arange(4), 150)
    from core.metrics import hungarian_accuracy

    model = AdaptiveDeepCluster(k_init=4, k_max=4, n_epochs=4, min_epochs=4, hidden_dim=32, out_dim=16,
                                equipartition=True, random_state=0,
                                lr=1e-4, neighbor_weight=0.0, init_umap=None).fit(X.astype(np.float32))
    assert hungarian_accuracy(y, model.labels_) >= 0.97
    assert np.bincount(model.labels_, minlength=4).min() >= 130
    model.save_checkpoint(tmp_path / "heads.pt")
    assert AdaptiveDeepCluster.from_checkpoint(tmp_path / "heads.pt").equipartition is True
