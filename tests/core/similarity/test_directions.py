"""Directions from each source, the shift, persistence and the bad inputs of issue 4."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.similarity.directions import (
    from_attribute,
    from_examples,
    from_principal_component,
    hex_luminance,
    load_directions,
    save_directions,
    shift,
)


def planted(n: int = 200, d: int = 12, seed: int = 0):
    """Embeddings where attribute ``y`` moves items along a known unit axis ``axis``."""
    rng = np.random.default_rng(seed)
    axis = np.zeros(d)
    axis[2] = 1.0
    y = rng.random(n) < 0.4
    X = rng.normal(size=(n, d)) * 0.5 + np.outer(y * 1.5, axis)
    ids = np.array([f"{i:016x}" for i in range(n)])
    return X.astype(np.float32), y, ids, axis


@pytest.mark.parametrize("method", ["logistic", "mean_diff"])
def test_attribute_direction_finds_planted_axis_with_high_held_out_auc(method: str) -> None:
    X, y, _, axis = planted()
    d = from_attribute("spotty", X, y, method=method, details={"attribute": "pattern", "value": "spots"})
    assert d.source == "attribute" and d.vector.shape == (12,)
    assert np.linalg.norm(d.vector) == pytest.approx(1.0, abs=1e-6)
    assert d.vector @ axis > 0.85
    assert d.provenance["auc"] > 0.9 and d.provenance["auc_kind"] == "held-out"
    assert d.provenance["n_positive"] == int(y.sum()) and d.provenance["attribute"] == "pattern"


def test_attribute_without_signal_has_chance_auc() -> None:
    X, _, _, _ = planted()
    y = np.random.default_rng(9).random(len(X)) < 0.5
    assert 0.3 < from_attribute("noise", X, y).provenance["auc"] < 0.7


def test_examples_direction_from_two_id_sets() -> None:
    X, y, ids, axis = planted()
    pos, neg = list(ids[y][:12]), list(ids[~y][:14])
    d = from_examples("spots", X, ids, pos, neg, origin="test")
    assert d.source == "examples" and d.vector @ axis > 0.8
    p = d.provenance
    assert (p["n_positive"], p["n_negative"], p["auc_kind"], p["origin"]) == (12, 14, "leave-one-out", "test")
    assert p["auc"] > 0.85 and p["positive_ids"] == pos
    # examples without any signal: the leave-one-out AUC stays low
    rng = np.random.default_rng(3)
    shuffled = rng.permutation(ids)
    assert from_examples("none", X, ids, list(shuffled[:12]), list(shuffled[12:26])).provenance["auc"] < 0.75
    assert "positive_ids" not in d.summary()


@pytest.mark.parametrize("n_pos,n_neg", [(2, 5), (5, 2), (0, 0)])
def test_direction_from_fewer_than_three_examples_on_either_side(n_pos: int, n_neg: int) -> None:
    X, y, ids, _ = planted()
    with pytest.raises(InvalidInputError, match="needs at least 3 positive and 3 negative") as exc:
        from_examples("spots", X, ids, list(ids[y][:n_pos]), list(ids[~y][:n_neg]))
    assert f"got {n_pos} positive and {n_neg} negative" in str(exc.value)


def test_examples_with_unknown_or_overlapping_ids() -> None:
    X, y, ids, _ = planted()
    with pytest.raises(InvalidInputError, match="not in the catalog"):
        from_examples("s", X, ids, ["nope", *ids[y][:3]], list(ids[~y][:3]))
    with pytest.raises(InvalidInputError, match="both positive and negative"):
        from_examples("s", X, ids, list(ids[:3]), list(ids[2:5]))


def test_principal_component_oriented_by_reference() -> None:
    rng = np.random.default_rng(1)
    bright = rng.normal(size=300)
    X = np.column_stack([-3.0 * bright, rng.normal(size=(300, 5)) * 0.3]).astype(np.float32)
    d = from_principal_component("brighter", X, component=None, reference=bright)
    assert d.source == "pca" and d.provenance["component"] == 0
    assert d.vector[0] < -0.99  # points towards higher reference despite the negative loading
    assert d.provenance["reference_correlation"] > 0.99 and d.provenance["auc"] > 0.99
    d0 = from_principal_component("pc0", X, component=0)
    assert abs(d0.vector[0]) > 0.99
    with pytest.raises(InvalidInputError, match="component"):
        from_principal_component("pc", X, component=40)


def test_hex_luminance() -> None:
    lum = hex_luminance(["#ffffff", "#000000", "#808080", "bad", None])
    assert lum[0] == pytest.approx(1.0) and lum[1] == 0.0 and 0.1 < lum[2] < 0.3
    assert np.isnan(lum[3]) and np.isnan(lum[4])


def test_shift_moves_query_along_direction_and_normalises() -> None:
    X, y, ids, axis = planted()
    d = from_attribute("spots", X, y)
    q = np.zeros(12, dtype=np.float32)
    q[0] = 1.0
    out = shift(q, {"spots": 1.0}, {"spots": d})
    assert np.linalg.norm(out) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(out, (q + d.vector) / np.linalg.norm(q + d.vector), atol=1e-6)
    assert shift(q, {"spots": 2.0}, {"spots": d}) @ d.vector > out @ d.vector
    assert shift(q, {"spots": -1.0}, {"spots": d}) @ d.vector < 0
    np.testing.assert_allclose(shift(q, {}, {"spots": d}), q)


def test_unknown_direction_name_lists_known_names() -> None:
    X, y, _, _ = planted()
    dirs = {"spots": from_attribute("spots", X, y), "pc0": from_principal_component("pc0", X)}
    with pytest.raises(InvalidInputError, match="unknown direction 'stripes'; known: pc0, spots"):
        shift(np.ones(12), {"stripes": 1.0}, dirs)


def test_save_load_round_trip(tmp_path) -> None:
    X, y, ids, _ = planted()
    dirs = [from_attribute("spots", X, y), from_examples("e", X, ids, list(ids[y][:3]), list(ids[~y][:3]))]
    save_directions(tmp_path, dirs)
    back = load_directions(tmp_path)
    assert list(back) == ["spots", "e"]
    for d in dirs:
        np.testing.assert_array_equal(back[d.name].vector, d.vector)
        assert back[d.name].provenance == d.provenance and back[d.name].source == d.source
    assert load_directions(tmp_path / "nothing") == {}


def _naive_leave_one_out(P: np.ndarray, N: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The slow reference: rebuild the direction without each example and score it."""
    def score(x, mp, mn):
        d = mp - mn
        return float((x - (mp + mn) / 2) @ (d / np.linalg.norm(d)))

    pos = [score(P[j], np.delete(P, j, axis=0).mean(axis=0), N.mean(axis=0)) for j in range(len(P))]
    neg = [score(N[j], P.mean(axis=0), np.delete(N, j, axis=0).mean(axis=0)) for j in range(len(N))]
    return np.asarray(pos), np.asarray(neg)


@pytest.mark.parametrize("p,n,d,seed", [(3, 3, 4, 0), (7, 12, 16, 1), (40, 25, 64, 2), (2, 9, 8, 3)])
def test_closed_form_leave_one_out_equals_the_naive_one(p: int, n: int, d: int, seed: int) -> None:
    from core.similarity.directions import leave_one_out_scores

    rng = np.random.default_rng(seed)
    P = rng.normal(size=(p, d)) + 0.3
    N = rng.normal(size=(n, d))
    got_pos, got_neg = leave_one_out_scores(P.astype(np.float32), N.astype(np.float32))
    want_pos, want_neg = _naive_leave_one_out(P.astype(np.float32).astype(np.float64),
                                              N.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(got_pos, want_pos, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got_neg, want_neg, rtol=1e-9, atol=1e-9)


def test_leave_one_out_of_identical_sides_is_a_clear_error() -> None:
    from core.similarity.directions import leave_one_out_scores

    same = np.ones((3, 4))
    with pytest.raises(InvalidInputError, match="indistinguishable"):
        leave_one_out_scores(same, same)


# -- few examples, augmented with their views ------------------------------------------------
def planted_views(n: int = 300, d: int = 24, n_views: int = 4, seed: int = 0):
    """Items whose true position ``Z`` moves along ``axis`` with the attribute; the catalog row
    and each augmented view are that position plus independent view noise (a photo is one view)."""
    rng = np.random.default_rng(seed)
    axis = np.zeros(d)
    axis[0] = 1.0
    y = rng.random(n) < 0.4
    Z = rng.normal(size=(n, d)) * 0.3 + np.outer(y * 1.0, axis)
    X = (Z + rng.normal(size=(n, d)) * 0.8).astype(np.float32)
    V = (Z[:, None] + rng.normal(size=(n, n_views, d)) * 0.8).astype(np.float32)
    return X, V, y, np.array([f"{i:016x}" for i in range(n)]), axis


def test_views_steady_a_direction_from_few_examples() -> None:
    """On a planted catalog, 5 examples a side with their views find the attribute's axis
    better than the 5 examples alone, in every draw on average and in most draws."""
    X, V, y, ids, axis = planted_views()
    plain, with_views = [], []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        pos, neg = list(rng.choice(ids[y], 5, replace=False)), list(rng.choice(ids[~y], 5, replace=False))
        plain.append(from_examples("a", X, ids, pos, neg).vector @ axis)
        with_views.append(from_examples("a", X, ids, pos, neg, views=lambda rows: V[rows]).vector @ axis)
    plain, with_views = np.asarray(plain), np.asarray(with_views)
    assert with_views.mean() > plain.mean() + 0.1
    assert (with_views > plain).mean() >= 0.8


def test_views_are_not_examples() -> None:
    """Views never make up for missing examples: fewer than 3 a side is still refused."""
    X, V, y, ids, _ = planted_views()
    with pytest.raises(InvalidInputError, match="needs at least 3 positive and 3 negative.*got 2 positive"):
        from_examples("a", X, ids, list(ids[y][:2]), list(ids[~y][:5]), views=lambda rows: V[rows])


def test_views_of_the_wrong_shape_are_a_clear_error() -> None:
    X, V, y, ids, _ = planted_views()
    with pytest.raises(InvalidInputError, match=r"views must be \(3, V, 24\)"):
        from_examples("a", X, ids, list(ids[y][:3]), list(ids[~y][:3]), views=lambda rows: V[rows, :, :5])


def test_leave_one_out_leaves_an_example_out_with_its_views() -> None:
    """Grouped closed form equals rebuilding the direction without the example and its views."""
    from core.similarity.directions import leave_one_out_scores

    rng = np.random.default_rng(4)
    P, N = rng.normal(size=(4, 3, 6)) + 0.5, rng.normal(size=(5, 3, 6))

    def score(x, mp, mn):
        d = mp - mn
        return float((x - (mp + mn) / 2) @ (d / np.linalg.norm(d)))

    flat = lambda a: a.reshape(-1, a.shape[-1])  # noqa: E731
    want_pos = [score(P[j, 0], flat(np.delete(P, j, axis=0)).mean(0), flat(N).mean(0)) for j in range(4)]
    want_neg = [score(N[j, 0], flat(P).mean(0), flat(np.delete(N, j, axis=0)).mean(0)) for j in range(5)]
    got_pos, got_neg = leave_one_out_scores(P, N)
    np.testing.assert_allclose(got_pos, want_pos, atol=1e-9)
    np.testing.assert_allclose(got_neg, want_neg, atol=1e-9)
