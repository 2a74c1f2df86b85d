"""Every metric against values computed by hand on tiny examples."""

import math

import numpy as np
import pytest

from core import metrics
from core.errors import InvalidInputError

# 6 items, classes a/b; cluster 0 = {a, a}, cluster 1 = {a, b, b, b}
Y_TRUE = np.array(["a", "a", "a", "b", "b", "b"])
Y_PRED = np.array([0, 0, 1, 1, 1, 1])


def test_contingency_table():
    table, clusters, classes = metrics.contingency(Y_TRUE, Y_PRED)
    assert table.tolist() == [[2, 0], [1, 3]]
    assert clusters.tolist() == [0, 1]
    assert classes.tolist() == ["a", "b"]


def test_hungarian_accuracy_hand_computed():
    # best matching 0->a (2 items), 1->b (3 items): 5 of 6
    assert metrics.hungarian_accuracy(Y_TRUE, Y_PRED) == pytest.approx(5 / 6)
    assert metrics.hungarian_match(Y_TRUE, Y_PRED) == {0: "a", 1: "b"}


def test_hungarian_accuracy_is_permutation_invariant():
    assert metrics.hungarian_accuracy(Y_TRUE, 1 - Y_PRED) == pytest.approx(5 / 6)


def test_hungarian_accuracy_with_more_clusters_than_classes():
    # cluster 2 -> class 1 (2 items), one of clusters 0/1 -> class 0 (1 item): 3 of 4
    assert metrics.hungarian_accuracy([0, 0, 1, 1], [0, 1, 2, 2]) == pytest.approx(3 / 4)
    assert metrics.purity([0, 0, 1, 1], [0, 1, 2, 2]) == pytest.approx(1.0)


def test_purity_hand_computed():
    assert metrics.purity(Y_TRUE, Y_PRED) == pytest.approx((2 + 3) / 6)


def test_nmi_hand_computed():
    h_y = math.log(2)
    h_c = -(1 / 3 * math.log(1 / 3) + 2 / 3 * math.log(2 / 3))
    mi = (1 / 3) * math.log(2) + (1 / 6) * math.log(1 / 2) + (1 / 2) * math.log(3 / 2)
    expected = mi / ((h_y + h_c) / 2)
    assert expected == pytest.approx(0.4787, abs=1e-4)
    assert metrics.nmi(Y_TRUE, Y_PRED) == pytest.approx(expected)


def test_ari_hand_computed():
    index = 1 + 0 + 3  # C(2,2) + C(1,2) + C(3,2)
    rows, cols, total = 1 + 6, 3 + 3, 15  # C(2,2)+C(4,2), C(3,2)*2, C(6,2)
    expected_index = rows * cols / total
    expected = (index - expected_index) / ((rows + cols) / 2 - expected_index)
    assert expected == pytest.approx(1.2 / 3.7)
    assert metrics.ari(Y_TRUE, Y_PRED) == pytest.approx(expected)


def test_per_class_f1_hand_computed():
    f1 = metrics.per_class_f1(Y_TRUE, Y_PRED)
    # a: tp 2, precision 2/2, recall 2/3 -> 0.8 ; b: tp 3, precision 3/4, recall 1 -> 6/7
    assert f1 == pytest.approx({"a": 0.8, "b": 6 / 7})


def test_per_class_f1_unmatched_class_scores_zero():
    # one cluster, two classes: only one class can be matched
    f1 = metrics.per_class_f1(["x", "x", "y"], [0, 0, 0])
    assert f1["y"] == 0.0
    assert f1["x"] == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))


def test_perfect_clustering_scores_one():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([5, 5, 3, 3, 4, 4])
    scores = metrics.evaluate(y, p)
    assert scores["acc"] == scores["purity"] == pytest.approx(1.0)
    assert scores["nmi"] == pytest.approx(1.0)
    assert scores["ari"] == pytest.approx(1.0)
    assert set(scores["f1"].values()) == {1.0}


def test_silhouette_hand_computed():
    X = np.array([[0.0], [1.0], [10.0], [11.0]])
    labels = np.array([0, 0, 1, 1])
    # each point: a = 1; b = 10.5 (outer points) or 9.5 (inner points)
    expected = ((1 - 1 / 10.5) * 2 + (1 - 1 / 9.5) * 2) / 4
    assert metrics.silhouette(X, labels, metric="euclidean") == pytest.approx(expected)


def test_silhouette_on_a_sample_and_undefined_cases():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.1, (300, 2)), rng.normal(5, 0.1, (300, 2))])
    labels = np.repeat([0, 1], 300)
    s = metrics.silhouette(X, labels, sample_size=100, metric="euclidean")
    assert 0.9 < s <= 1.0
    assert metrics.silhouette(X, np.zeros(600, int)) is None


def test_mismatched_lengths_rejected():
    with pytest.raises(InvalidInputError, match="equal length"):
        metrics.nmi([0, 1, 1], [0, 1])
    with pytest.raises(InvalidInputError, match="no labelled items"):
        metrics.hungarian_accuracy([], [])
