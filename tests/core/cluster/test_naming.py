import numpy as np

from core.cluster.naming import majority_label, name_clusters, representatives, top_imagenet


def test_majority_label_ignores_missing():
    label, share = majority_label(np.array(["Pants", None, "Pants", "Dress", float("nan"), ""], dtype=object))
    assert label == "Pants" and share == 2 / 3
    assert majority_label(np.array([None, ""], dtype=object)) == (None, 0.0)


def test_top_imagenet_sums_probability_mass():
    idx = np.array([[608, 655], [655, 841], [655, 608]])
    prob = np.array([[0.9, 0.1], [0.5, 0.4], [0.3, 0.2]])
    # 608: 1.1, 655: 0.9, 841: 0.4
    assert top_imagenet(idx, prob, 2) == ("jean", "miniskirt")


def test_name_combines_label_and_imagenet_classes():
    labels = np.array([0, 0, 0, 1, 1])
    cat = np.array(["Pants", "Pants", "Skirt", None, None], dtype=object)
    idx = np.array([[608, 655]] * 3 + [[841, 608]] * 2)
    prob = np.array([[0.7, 0.2]] * 5)
    names = name_clusters(labels, 3, cat, idx, prob)
    assert names[0].name == "Pants · jean / miniskirt"
    assert names[0].label_share == 2 / 3
    assert names[1].name == "sweatshirt / jean" and names[1].label is None
    assert names[2].name == "cluster 2"  # empty cluster


def test_representatives_are_nearest_the_centroid():
    Z = np.array([[1, 0], [0.8, 0.6], [0.6, 0.8], [0, 1]], dtype=np.float32)
    labels = np.array([0, 0, 0, 1])
    centroids = np.array([[1, 0], [0, 1]], dtype=np.float32)
    reps = representatives(Z, labels, centroids, n=2)
    assert reps[0].tolist() == [0, 1] and reps[1].tolist() == [3]


def test_majority_label_accepts_pandas_missing_values():
    import pandas as pd

    values = pd.array(["Hat", pd.NA, "Hat", "Skirt"], dtype="string").to_numpy(dtype=object)
    assert majority_label(values) == ("Hat", 2 / 3)
