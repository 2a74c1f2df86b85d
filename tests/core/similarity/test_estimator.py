"""TripletEmbedder on tiny synthetic features: shapes, history, learning, persistence, errors."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import CheckpointError, InvalidInputError
from core.similarity import (
    TripletEmbedder,
    l2_normalise,
    label_precision_at_k,
    partner_topk_accuracy,
    retrieval_metrics,
)

# The estimator's defaults are SimilarityConfig's (dropout 0.3, weight decay 1e-2, label and
# structure terms on); the tests that compare learning behaviour name the plain setting they
# were written for.
PLAIN = {"dropout": 0.1, "weight_decay": 1e-4, "label_positives": False, "structure_weight": 0.0}


def synthetic(n: int = 120, d_sig: int = 6, d_noise: int = 26, n_views: int = 2, seed: int = 0):
    """Items whose identity lives in a few dims; views add large nuisance noise elsewhere.

    Frozen cosine search is dominated by the nuisance; a tuned head can learn to ignore it.
    Returns features (n, D), views (n, V, D), labels (n,).
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=n)
    centres = rng.normal(size=(4, d_sig)) * 2.0
    signal = centres[labels] + rng.normal(size=(n, d_sig))

    def noisy() -> np.ndarray:
        return np.concatenate([signal + 0.05 * rng.normal(size=signal.shape),
                               3.0 * rng.normal(size=(n, d_noise))], axis=1)

    feats = noisy().astype(np.float32)
    views = np.stack([noisy() for _ in range(n_views)], axis=1).astype(np.float32)
    return feats, views, labels.astype(str)


def test_fit_transform_shapes_history_and_unit_norm() -> None:
    X, V, y = synthetic()
    est = TripletEmbedder(out_dim=8, hidden_dim=32, epochs=3, batch_size=32, random_state=0)
    assert est.fit(X, V, labels=y) is est
    Z = est.transform(X)
    assert Z.shape == (len(X), 8) and Z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-5)
    assert est.transform(V).shape == (len(X), 2, 8)
    assert [h["epoch"] for h in est.history_] == [1, 2, 3]
    for h in est.history_:
        assert 0.0 <= h["active_share"] <= 1.0 and h["loss"] >= 0.0
        assert {"partner_top1", "partner_top5", "partner_top10", "label_precision_at_10"} <= set(h)
    assert len(est.validation_idx_) == 12


def test_tuned_head_finds_view_partners_better_than_frozen_features() -> None:
    X, V, y = synthetic(n=200, seed=1)
    est = TripletEmbedder(out_dim=8, hidden_dim=64, epochs=40, lr=3e-3, batch_size=64,
                          validation_fraction=0.2, random_state=0, **PLAIN).fit(X, V)
    val = est.validation_idx_
    frozen = retrieval_metrics(l2_normalise(X), l2_normalise(V), val)
    tuned = retrieval_metrics(est.transform(X), est.transform(V), val)
    assert tuned["partner_top1"] > frozen["partner_top1"] + 0.2
    assert est.history_[-1]["loss"] < est.history_[0]["loss"]


def test_groups_alone_give_positives() -> None:
    X, _, _ = synthetic(n=60)
    groups = np.repeat(np.arange(30), 2).astype(str)
    est = TripletEmbedder(out_dim=4, hidden_dim=16, epochs=2, batch_size=16).fit(X, None, groups)
    assert est.transform(X[:3]).shape == (3, 4)
    # validation items are whole groups
    val = set(est.validation_idx_.tolist())
    assert all((2 * (i // 2) in val) == (2 * (i // 2) + 1 in val) for i in val)
    assert est.history_[-1]["partner_source"] == "group"


def test_no_positives_is_invalid_input() -> None:
    X, _, _ = synthetic(n=20)
    with pytest.raises(InvalidInputError, match="no positives"):
        TripletEmbedder(epochs=1).fit(X, None, None)


@pytest.mark.parametrize("kwargs,msg", [({"margin": 0.0}, "margin"), ({"out_dim": 1}, "out_dim"),
                                        ({"epochs": 0}, "epochs")])
def test_bad_hyperparameters_are_invalid_input(kwargs: dict, msg: str) -> None:
    X, V, _ = synthetic(n=20)
    with pytest.raises(InvalidInputError, match=msg):
        TripletEmbedder(**kwargs).fit(X, V)


def test_transform_wrong_dimension_and_unfitted() -> None:
    X, V, _ = synthetic(n=20)
    with pytest.raises(InvalidInputError, match="not fitted"):
        TripletEmbedder().transform(X)
    est = TripletEmbedder(out_dim=4, hidden_dim=8, epochs=1, batch_size=8).fit(X, V)
    with pytest.raises(InvalidInputError, match="dimension"):
        est.transform(X[:, :5])


def test_save_load_round_trip(tmp_path) -> None:
    X, V, _ = synthetic(n=30)
    est = TripletEmbedder(out_dim=4, hidden_dim=8, epochs=2, batch_size=8, random_state=3).fit(X, V)
    est.save(tmp_path / "head.pt")
    back = TripletEmbedder.load(tmp_path / "head.pt")
    assert back.get_params() == est.get_params()
    np.testing.assert_allclose(back.transform(X), est.transform(X), atol=1e-6)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        TripletEmbedder.load(tmp_path / "bad.pt")


def test_same_seed_same_result() -> None:
    X, V, _ = synthetic(n=40)
    a = TripletEmbedder(out_dim=4, hidden_dim=8, epochs=2, batch_size=8, random_state=5).fit(X, V)
    b = TripletEmbedder(out_dim=4, hidden_dim=8, epochs=2, batch_size=8, random_state=5).fit(X, V)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_metrics_on_hand_made_vectors() -> None:
    g = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]])
    q = np.array([[1.0, 0.05], [0.1, 1.0]])
    acc = partner_topk_accuracy(q, g, [{2}, {1}], ks=(1, 2))
    assert acc == {"top1": 0.5, "top2": 1.0}
    emb = np.array([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0], [0.1, 0.99]])
    labels = np.array(["a", "a", "b", "a"])
    # query 0 -> nearest 1 (a); query 2 -> nearest 3 (a, miss)
    assert label_precision_at_k(emb, labels, np.array([0, 2]), k=1) == 0.5


def test_label_positives_raise_held_out_label_precision() -> None:
    X, V, y = synthetic(n=200, seed=2)
    kw = dict(out_dim=8, hidden_dim=64, epochs=25, lr=3e-3, batch_size=64, validation_fraction=0.25, random_state=0,
              dropout=0.1, weight_decay=1e-4, structure_weight=0.0)
    plain = TripletEmbedder(label_positives=False, **kw).fit(X, V, labels=y)
    labelled = TripletEmbedder(label_positives=True, **kw).fit(X, V, labels=y)
    np.testing.assert_array_equal(plain.validation_idx_, labelled.validation_idx_)
    val = labelled.validation_idx_
    p_plain = retrieval_metrics(plain.transform(X), None, val, y)["label_precision_at_10"]
    p_lab = retrieval_metrics(labelled.transform(X), None, val, y)["label_precision_at_10"]
    assert p_lab > p_plain


def test_structure_weight_keeps_frozen_similarity_structure() -> None:
    X, V, y = synthetic(n=120, seed=3)
    kw = dict(out_dim=8, hidden_dim=32, epochs=15, lr=3e-3, batch_size=32, label_positives=True, random_state=0,
              dropout=0.1, weight_decay=1e-4)
    Xs = l2_normalise((X - X.mean(0)) / (X.std(0) + 1e-3))
    frozen = (Xs @ Xs.T)[np.triu_indices(len(X), 1)]

    def corr(est: TripletEmbedder) -> float:
        Z = est.transform(X)
        return float(np.corrcoef((Z @ Z.T)[np.triu_indices(len(X), 1)], frozen)[0, 1])

    assert corr(TripletEmbedder(structure_weight=20.0, **kw).fit(X, V, labels=y)) > \
        corr(TripletEmbedder(structure_weight=0.0, **kw).fit(X, V, labels=y)) + 0.05
