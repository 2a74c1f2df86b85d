"""AnnIndex: build, query, save / load (memory-mapped) round trip, sidecar checks, recall."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from core.errors import InvalidInputError, MissingArtifactError
from core.similarity.index import AnnIndex, build_measured, choose_params, measure_recall
from core.similarity.retrieval import exact_topk, l2_normalise


def blobs(n: int = 600, d: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, _ = make_blobs(n_samples=n, n_features=d, centers=8, random_state=seed)
    X = l2_normalise(X - X.mean(axis=0))
    ids = np.array([f"{i:016x}" for i in range(n)])
    return X, ids


def test_query_returns_ids_and_cosine_similarities() -> None:
    X, ids = blobs()
    index = AnnIndex.build(X, ids, n_trees=10, search_k=5000, seed=1)
    got_ids, scores = index.query(X[7], k=5)
    assert got_ids[0] == ids[7]
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    rows = [int(np.flatnonzero(ids == g)[0]) for g in got_ids]
    np.testing.assert_allclose(scores, X[rows] @ X[7], atol=1e-5)
    assert np.all(np.diff(scores) <= 1e-6)


def test_save_load_mmap_round_trip(tmp_path) -> None:
    X, ids = blobs()
    index = AnnIndex.build(X, ids, n_trees=8, search_k=2000, seed=3, manifest_version=4)
    before = [index.query(X[i], 10) for i in range(0, 600, 50)]
    index.save(tmp_path)
    meta = json.loads((tmp_path / "index.json").read_text())
    assert meta | {"build_seconds": 0} == {
        "dim": 16, "metric": "angular", "n_trees": 8, "search_k": 2000, "seed": 3, "n_items": 600,
        "manifest_version": 4, "build_seconds": 0, "recall_at_10": None}
    loaded = AnnIndex.load(tmp_path, expected_dim=16, expected_version=4)
    after = [loaded.query(X[i], 10) for i in range(0, 600, 50)]
    for (a_ids, a_s), (b_ids, b_s) in zip(before, after, strict=True):
        np.testing.assert_array_equal(a_ids, b_ids)
        np.testing.assert_allclose(a_s, b_s)
    # a second reader maps the same file
    other = AnnIndex.load(tmp_path)
    np.testing.assert_array_equal(other.query(X[0], 3)[0], loaded.query(X[0], 3)[0])
    # the saved object stays usable after save
    np.testing.assert_array_equal(index.query(X[0], 3)[0], loaded.query(X[0], 3)[0])


@pytest.mark.parametrize("change,kwargs,msg", [
    ({"dim": 32}, {"expected_dim": 16}, "dim"),
    ({}, {"expected_dim": 32}, "dim 16 != embeddings dim 32"),
    ({"metric": "euclidean"}, {}, "metric"),
    ({}, {"expected_version": 5}, "manifest version 4 != 5"),
    ({"n_items": 10}, {}, "item count"),
])
def test_sidecar_that_disagrees_with_embeddings_is_refused(tmp_path, change, kwargs, msg) -> None:
    X, ids = blobs(n=100)
    AnnIndex.build(X, ids, n_trees=2, manifest_version=4).save(tmp_path)
    meta = json.loads((tmp_path / "index.json").read_text())
    (tmp_path / "index.json").write_text(json.dumps(meta | change))
    with pytest.raises(InvalidInputError, match=msg):
        AnnIndex.load(tmp_path, **kwargs)


def test_missing_index_names_the_build_command(tmp_path) -> None:
    with pytest.raises(MissingArtifactError, match="python -m core similarity"):
        AnnIndex.load(tmp_path)


def test_bad_build_and_query_inputs() -> None:
    X, ids = blobs(n=50)
    with pytest.raises(InvalidInputError, match="ids"):
        AnnIndex.build(X, ids[:10])
    bad = X.copy()
    bad[3, 0] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        AnnIndex.build(bad, ids)
    index = AnnIndex.build(X, ids, n_trees=2)
    with pytest.raises(InvalidInputError, match="dimension"):
        index.query(np.ones(3), 5)
    with pytest.raises(InvalidInputError, match="zero"):
        index.query(np.zeros(16), 5)


def test_exact_topk_matches_brute_force() -> None:
    X, _ = blobs(n=200)
    q = X[:7]
    top = exact_topk(X, q, 5)
    sims = q @ X.T
    for i in range(7):
        np.testing.assert_allclose(sims[i, top[i]], np.sort(sims[i])[::-1][:5], atol=1e-6)


def test_recall_measurement_is_one_for_exhaustive_search_and_lower_for_tiny_search_k() -> None:
    X, ids = blobs(n=2000, d=32)
    queries = l2_normalise(X[:100] + 0.3 * np.random.default_rng(0).normal(size=(100, 32)))
    index = AnnIndex.build(X, ids, n_trees=2, seed=0)
    full, _ = measure_recall(index, X, queries, 10, search_k=2 * 2000 * 4)
    tiny, _ = measure_recall(index, X, queries, 10, search_k=10)
    assert full == pytest.approx(1.0)
    assert tiny < 0.9


def test_choose_params_reaches_target_on_held_out_queries() -> None:
    X, _ = blobs(n=3000, d=16)
    params, trials = choose_params(X, target_recall=0.95, n_queries=100, trees=(5, 10),
                                   search_ks=(50, 200, 1000, 5000), seed=0)
    assert params.recall_at_10 >= 0.95
    assert {(t["n_trees"], t["search_k"]) for t in trials} >= {(params.n_trees, params.search_k)}
    assert all(0.0 <= t["recall_at_10"] <= 1.0 for t in trials)


def test_build_measured_records_recall_in_sidecar(tmp_path) -> None:
    X, ids = blobs(n=1500, d=16)
    index = build_measured(X, ids, target_recall=0.95, seed=0, manifest_version=2, n_queries=100)
    index.save(tmp_path)
    meta = AnnIndex.load(tmp_path, expected_dim=16, expected_version=2).meta
    assert meta["recall_at_10"] >= 0.9
    assert meta["tuning"] and {"n_trees", "search_k", "recall_at_10"} <= set(meta["tuning"][0])
    assert (meta["n_trees"], meta["search_k"]) in {(t["n_trees"], t["search_k"]) for t in meta["tuning"]}
