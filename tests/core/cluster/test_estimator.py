"""AdaptiveDeepCluster on tiny make_blobs data."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from core.cluster import AdaptiveDeepCluster
from core.cluster.preprocess import fit_preprocessing
from core.cluster.pseudo_labels import reseed_empty
from core.errors import CheckpointError, InvalidInputError
from core.metrics import nmi

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# neighbor_weight and init_umap: the estimator defaults these tests were written against (the
# defaults are now the pipeline's, from ClusterConfig: 1.0 and 10)
FAST = dict(batch_size=64, lr=1e-3, hidden_dim=32, out_dim=16, kmeans_batch_size=256, silhouette_sample=300,
            neighbor_weight=0.0, init_umap=None)


def blobs(n=400, centers=4, d=16, seed=0, std=1.0):
    X, y = make_blobs(n, n_features=d, centers=centers, cluster_std=std, random_state=seed)
    return X.astype(np.float32), y


def test_fit_recovers_blobs_and_records_history():
    X, y = blobs()
    m = AdaptiveDeepCluster(k_init=4, k_max=4, n_epochs=4, min_epochs=4, **FAST).fit(X, labels=y)
    assert m.labels_.shape == (400,) and m.k_ == 4
    assert m.centroids_.shape == (4, 16)
    assert np.allclose(np.linalg.norm(m.centroids_, axis=1), 1, atol=1e-5)
    assert nmi(y, m.labels_) > 0.95
    assert len(m.history_) == 5  # epochs 0..4: assignment records, training between them
    rec = m.history_[-1]
    for key in ("epoch", "k_before", "k_after", "silhouette", "mean_confidence", "pseudo_label_acc",
                "novel", "stability", "cluster_sizes", "acc", "nmi", "ari", "purity", "f1"):
        assert key in rec
    assert sum(rec["cluster_sizes"]) == 400
    assert m.history_[0]["stability"] is None and m.history_[1]["stability"] is not None


def test_stops_when_stable():
    X, _ = blobs()
    m = AdaptiveDeepCluster(k_init=4, k_max=4, n_epochs=20, min_epochs=1, stop_stability=0.95, **FAST).fit(X)
    assert m.stopped_ == "stable"
    assert m.n_epochs_ < 20
    assert m.history_[-1]["stability"] >= 0.95


def test_training_draws_from_views():
    X, y = blobs(n=200)
    rng = np.random.default_rng(0)
    views = X[:, None, :] + rng.normal(0, 0.1, size=(200, 2, 16)).astype(np.float32)
    m = AdaptiveDeepCluster(k_init=4, k_max=4, n_epochs=2, **FAST).fit(X, views=views, labels=y)
    assert nmi(y, m.labels_) > 0.9


def test_novelty_growth_planted_far_group():
    """A far-away group of 100 points arriving later makes k grow and gets its own cluster."""
    rng = np.random.default_rng(0)
    centres = 20.0 * np.eye(16, dtype=np.float32)
    X = np.vstack([centres[i] + rng.normal(0, 1.0, size=(300, 16)) for i in range(3)]).astype(np.float32)
    # the planted group: as far from every blob as the blobs are from each other, and too small
    # for k-means with k=3 to give it a centroid of its own
    far = (centres[3] + rng.normal(0, 1.0, size=(100, 16))).astype(np.float32)
    Xall = np.vstack([X, far])
    m = AdaptiveDeepCluster(k_init=3, k_max=6, n_epochs=6, min_epochs=6, pca_dim=None, **FAST)
    m.fit(Xall)
    grew = [r for r in m.history_ if r["k_after"] > r["k_before"]]
    assert m.k_ > 3 and grew
    far_labels = m.labels_[900:]
    # the planted group is (almost entirely) one cluster of its own
    main = np.bincount(far_labels).argmax()
    assert np.mean(far_labels == main) > 0.9
    assert np.mean(m.labels_[:900] == main) < 0.05


def test_no_growth_without_novel_group_when_buffer_large():
    X, _ = blobs(n=300, centers=3)
    m = AdaptiveDeepCluster(k_init=3, k_max=6, n_epochs=3, novelty_buffer=10_000, **FAST).fit(X)
    assert m.k_ == 3


def test_empty_cluster_is_reseeded():
    Z = np.vstack([np.tile([1.0, 0.0], (5, 1)), np.tile([0.0, 1.0], (5, 1))]).astype(np.float32)
    Z[4] = [0.8, 0.6]
    centroids = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], np.float32)  # third attracts nobody
    labels = np.array([0] * 5 + [1] * 5)
    new_c, new_labels, n = reseed_empty(Z, centroids, labels)
    assert n == 1
    assert np.bincount(new_labels, minlength=3).min() >= 1


def test_balanced_sampling_against_a_dominant_cluster():
    X, y = blobs(n=400, centers=2, seed=3)
    big = np.flatnonzero(y == 0)
    small = np.flatnonzero(y == 1)[:20]
    Xi = np.vstack([X[big], X[small]])
    m = AdaptiveDeepCluster(k_init=2, k_max=2, n_epochs=3, min_epochs=3, **FAST).fit(Xi)
    sizes = np.bincount(m.labels_, minlength=2)
    assert sizes.min() >= 15  # the small cluster survives training


def test_assign_new_items_and_outliers():
    X, y = blobs()
    m = AdaptiveDeepCluster(k_init=4, k_max=4, n_epochs=2, **FAST).fit(X, labels=y)
    out = m.assign(X[:10])
    assert np.array_equal(out["labels"], m.labels_[:10])
    assert out["confidence"].shape == (10,) and out["novel"].dtype == bool
    assert m.predict(X[:3]).tolist() == m.labels_[:3].tolist()


def test_save_load_round_trip(tmp_path):
    X, y = blobs()
    ck = tmp_path / "ck.pt"
    m = AdaptiveDeepCluster(k_init=4, k_max=4, n_epochs=2, checkpoint_path=ck, **FAST).fit(X)
    assert ck.exists()
    back = AdaptiveDeepCluster.from_checkpoint(ck)
    assert back.k_ == m.k_ and np.allclose(back.centroids_, m.centroids_)
    assert np.allclose(back.transform(X), m.transform(X), atol=1e-5)
    assert back.history_ == m.history_


def test_resume_continues_from_checkpoint(tmp_path):
    X, _ = blobs()
    ck = tmp_path / "ck.pt"
    first = AdaptiveDeepCluster(k_init=4, k_max=4, n_epochs=2, min_epochs=10, checkpoint_path=ck, **FAST).fit(X)
    assert first.n_epochs_ == 2
    second = AdaptiveDeepCluster(k_init=4, k_max=4, n_epochs=4, min_epochs=10, checkpoint_path=ck, **FAST).fit(X)
    epochs = [r["epoch"] for r in second.history_]
    assert epochs == [0, 1, 2, 3, 4]
    assert second.n_epochs_ == 4
    # the first epochs were not re-run: their records are the first run's
    assert second.history_[:2] == first.history_[:2]


# -- bad input -------------------------------------------------------------------------------

def test_bad_input_k_init_greater_than_k_max():
    X, _ = blobs(n=50)
    with pytest.raises(InvalidInputError, match=r"k_init \(12\) must not exceed k_max \(10\)"):
        AdaptiveDeepCluster(k_init=12, k_max=10).fit(X)


def test_bad_input_fewer_items_than_k():
    X, _ = blobs(n=5)
    with pytest.raises(InvalidInputError, match=r"fewer items \(5\) than clusters"):
        AdaptiveDeepCluster(k_init=10, k_max=25).fit(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_bad_input_nan_or_infinite_features(bad):
    X, _ = blobs(n=50)
    X[7, 3] = bad
    with pytest.raises(InvalidInputError, match=r"NaN or infinite values in 1 rows \(rows 7\)"):
        AdaptiveDeepCluster(k_init=2, k_max=3, **FAST).fit(X)


def test_bad_input_nan_in_views():
    X, _ = blobs(n=50)
    views = np.repeat(X[:, None, :], 2, axis=1)
    views[3, 1, 0] = np.nan
    with pytest.raises(InvalidInputError, match="views contain NaN"):
        AdaptiveDeepCluster(k_init=2, k_max=3, **FAST).fit(X, views=views)


def test_bad_input_corrupted_checkpoint(tmp_path):
    X, _ = blobs(n=100)
    ck = tmp_path / "ck.pt"
    ck.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt"):
        AdaptiveDeepCluster(k_init=4, k_max=4, n_epochs=1, checkpoint_path=ck, **FAST).fit(X)
    with pytest.raises(CheckpointError, match="corrupt"):
        AdaptiveDeepCluster.from_checkpoint(ck)


def test_bad_input_incompatible_checkpoint_names_shapes(tmp_path):
    X, _ = blobs(n=100, d=16)
    ck = tmp_path / "ck.pt"
    AdaptiveDeepCluster(k_init=4, k_max=4, n_epochs=1, checkpoint_path=ck, **FAST).fit(X)
    X8, _ = blobs(n=100, d=8)
    with pytest.raises(CheckpointError, match="D=16, these have D=8"):
        AdaptiveDeepCluster(k_init=4, k_max=4, n_epochs=2, checkpoint_path=ck, **FAST).fit(X8)
    # same data, but a different head width: the mismatching parameter is named with both shapes
    wider = {**FAST, "hidden_dim": 48}
    with pytest.raises(CheckpointError, match=r"projection\.net\.0\.weight has shape \(32, 16\), the model needs \(48, 16\)"):
        AdaptiveDeepCluster(k_init=4, k_max=4, n_epochs=2, checkpoint_path=ck, **wider).fit(X)


def test_bad_parameters_rejected():
    X, _ = blobs(n=50)
    with pytest.raises(InvalidInputError, match="balance"):
        AdaptiveDeepCluster(balance="magic").fit(X)
    with pytest.raises(InvalidInputError, match="min_confidence"):
        AdaptiveDeepCluster(k_init=2, min_confidence=2.0).fit(X)
    with pytest.raises(InvalidInputError, match=r"features must be a non-empty"):
        AdaptiveDeepCluster(k_init=2).fit(np.zeros((0, 3)))


def test_unfitted_model_cannot_assign():
    with pytest.raises(InvalidInputError, match="not fitted"):
        AdaptiveDeepCluster().assign(np.zeros((2, 3), np.float32))


def test_preprocess_in_row_blocks_matches_one_block_and_reads_a_memmap(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 12)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    for pca_dim in (None, 4):
        pre = fit_preprocessing(X, pca_dim=pca_dim, whiten=True, random_state=0)
        whole = pre.apply(X, chunk=1000)
        np.testing.assert_allclose(pre.apply(mapped, chunk=7), whole, rtol=1e-6, atol=1e-6)
        assert whole.shape == (50, 12 if pca_dim is None else 4) and whole.dtype == np.float32
