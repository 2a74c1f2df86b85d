"""The cluster tree: Ward merges of the fine clusters, cuts equal to flat clusterings."""

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from core.cluster.hierarchy import ClusterTree, build_tree
from core.errors import InvalidInputError


def planted(seed=0):
    """3 coarse groups far apart, each of 3 fine groups: 9 fine clusters of 40 items in 8-d."""
    rng = np.random.default_rng(seed)
    coarse = 30.0 * np.eye(8)[:3]
    fine = np.vstack([c + 6.0 * np.eye(8)[3 + j] for c in coarse for j in range(3)])
    Z = np.vstack([f + rng.normal(0, 0.5, (40, 8)) for f in fine])
    fine_y = np.repeat(np.arange(9), 40)
    return Z, fine_y, fine_y // 3


def test_every_cut_equals_scipy_ward_on_equal_sized_clusters():
    Z, y, _ = planted()
    tree = build_tree(Z, y, 9)
    means = np.vstack([Z[y == j].mean(0) for j in range(9)])
    ref = linkage(means, "ward")  # equal sizes: weighted Ward is scipy's Ward on the means
    for n in range(1, 10):
        ours = tree.cut(n)
        theirs = fcluster(ref, n, "maxclust")
        assert len(set(ours)) == n
        assert adjusted_rand_score(ours, theirs) == 1.0, n


def test_cut_at_the_planted_levels_equals_a_flat_clustering():
    Z, fine_y, coarse_y = planted()
    tree = build_tree(Z, fine_y, 9)
    items_coarse = tree.cut(3)[fine_y]
    assert adjusted_rand_score(items_coarse, coarse_y) == 1.0
    flat = KMeans(3, n_init=5, random_state=0).fit_predict(Z)
    assert adjusted_rand_score(items_coarse, flat) == 1.0
    assert adjusted_rand_score(tree.cut(9)[fine_y], fine_y) == 1.0
    assert tree.cut(1).tolist() == [0] * 9


def test_cuts_are_nested_and_heights_rise():
    Z, y, _ = planted(1)
    tree = build_tree(Z, y, 9)
    assert np.all(np.diff(tree.merges[:, 2]) >= 0)
    for n in range(2, 10):
        finer, coarser = tree.cut(n), tree.cut(n - 1)
        for g in set(finer):  # every finer group lies inside one coarser group
            assert len(set(coarser[finer == g])) == 1
    assert tree.merges[-1, 3] == len(Z)
    assert tree.leaves(2 * 9 - 2) == list(range(9))


def test_groups_name_nodes_and_round_trip():
    Z, y, _ = planted()
    tree = build_tree(Z, y, 9)
    nodes = tree.groups(3)
    assert len(nodes) == 3 and all(9 <= n < 17 for n in nodes)
    assert sorted(sum((tree.leaves(n) for n in nodes), [])) == list(range(9))
    back = ClusterTree.from_json(tree.to_json())
    assert np.array_equal(back.cut(4), tree.cut(4)) and np.array_equal(back.sizes, tree.sizes)


def test_single_cluster_and_empty_cluster():
    Z = np.random.default_rng(0).normal(size=(10, 3))
    one = build_tree(Z, np.zeros(10, int), 1)
    assert one.k == 1 and one.cut(1).tolist() == [0]
    tree = build_tree(Z, np.array([0] * 5 + [2] * 5), 3)  # cluster 1 is empty
    assert tree.merges[0, 2] == 0.0


@pytest.mark.parametrize("bad", [0, 10, -1, 2.5, "3", True, None])
def test_bad_levels_are_refused(bad):
    Z, y, _ = planted()
    tree = build_tree(Z, y, 9)
    with pytest.raises(InvalidInputError, match="number of groups"):
        tree.cut(bad)


def test_bad_input_is_refused():
    Z = np.zeros((4, 2))
    with pytest.raises(InvalidInputError, match="labels"):
        build_tree(Z, np.array([0, 1, 2, 3]), 3)
    with pytest.raises(InvalidInputError, match="k must be"):
        build_tree(Z, np.zeros(4, int), 0)
    with pytest.raises(InvalidInputError, match="merges"):
        ClusterTree.from_json({"sizes": [1, 2, 3], "merges": [[0, 1, 0.1, 3]]})
    with pytest.raises(InvalidInputError, match="node"):
        build_tree(Z, np.zeros(4, int), 2).leaves(5)
