"""Clusters and Training logic on a real (tiny) clustering run."""

from __future__ import annotations

import pandas as pd
import pytest

from components import clusterdata, clusters, explore, item, training
from core.annotations import Annotations
from core.errors import InvalidInputError
from core.workspace import Workspace
from tests.components.test_overview import _text


def test_cluster_rows_cover_every_item(tiny_clustered_ws: Workspace) -> None:
    rows = clusters.cluster_rows(tiny_clustered_ws)
    assert len(rows) >= 2
    assert sum(r["size"] for r in rows) == 6
    assert [r["size"] for r in rows] == sorted((r["size"] for r in rows), reverse=True)
    assert all(r["name"] == r["auto_name"] and not r["renamed"] for r in rows)


def test_member_order_puts_representatives_first(tiny_clustered_ws: Workspace) -> None:
    rows = clusters.cluster_rows(tiny_clustered_ws)
    big = rows[0]
    order = clusters.member_order(tiny_clustered_ws, big["cluster"])
    assert len(order) == big["size"] and len(set(order)) == len(order)
    reps = [i for i in big["representatives"] if i in order]
    assert order[: len(reps)] == reps


def test_rename_shows_everywhere_and_survives_a_rerun(tiny_clustered_ws: Workspace) -> None:
    ws = tiny_clustered_ws
    c = clusters.cluster_rows(ws)[0]["cluster"]
    assert clusters.rename(ws, c, "Weekend reds") == ("Saved.", "success")
    assert clusterdata.display_names(ws)[c] == "Weekend reds"
    row = next(r for r in clusters.cluster_rows(ws) if r["cluster"] == c)
    assert row["renamed"] and row["name"] == "Weekend reds"
    # the same members come back under another cluster id after a re-run
    members = clusterdata.members(ws)[c]
    saved = Annotations(ws.annotations_path).cluster_names("default", {c + 7: members})
    assert saved == {str(c + 7): "Weekend reds"}
    # clearing restores the automatic name
    assert clusters.rename(ws, c, " ")[1] == "secondary"
    assert clusterdata.display_names(ws)[c] == row["auto_name"]


def test_rename_unknown_cluster(tiny_clustered_ws: Workspace) -> None:
    assert clusters.rename(tiny_clustered_ws, 99, "x")[1] == "danger"
    assert clusters.rename(tiny_clustered_ws, clusters.cluster_rows(tiny_clustered_ws)[0]["cluster"], "x" * 200)[1] == "danger"


@pytest.mark.parametrize("value, expected", [("1", 1), (" 0 ", 0), ("7", None), ("abc", None), (None, None), ("-1", None)])
def test_parse_cluster(value, expected) -> None:
    assert clusters.parse_cluster(value, {0, 1}) == expected


def test_pages() -> None:
    ids = [f"{i:016x}" for i in range(50)]
    assert clusters.page_count(50, 24) == 3 and clusters.page_count(0) == 1
    assert clusters.page_slice(ids, 3, 24) == ids[48:]
    assert clusters.page_slice(ids, 99, 24) == ids[48:]
    assert clusters.page_slice(ids, None, 24) == ids[:24]


def test_map_colours_by_cluster(tiny_clustered_ws: Workspace) -> None:
    key = explore.current_key(tiny_clustered_ws)
    frame = explore.map_frame(key)
    assert {"cluster", "confidence", "novel"} <= set(frame.columns)
    fig = explore.build_figure(frame, "cluster", clusterdata.display_names(tiny_clustered_ws))
    assert len(fig["data"]) == frame["cluster"].nunique()
    assert "·" in fig["data"][0]["name"]
    rows = explore.trace_rows(frame, "cluster")
    show, _, children = explore.tooltip(frame, rows, {"points": [{"curveNumber": 0, "pointNumber": 0}]})
    assert show and "confidence" in _text(children)


def test_item_view_links_its_cluster(tiny_clustered_ws: Workspace) -> None:
    item_id = tiny_clustered_ws.items()["item_id"].iloc[0]
    info = item.item_cluster(tiny_clustered_ws, item_id)
    assert info is not None and 0.0 <= info["confidence"] <= 1.0
    assert f"/clusters?cluster={info['cluster']}" in str(item.render(tiny_clustered_ws, item_id))


def test_training_charts_and_tables(tiny_clustered_ws: Workspace) -> None:
    hist = training.clustering_history(tiny_clustered_ws)
    assert hist is not None and len(hist) >= 1
    fig = training.line_figure(hist, ("k_before", "k_after"), "k")
    assert fig is not None and [t["name"] for t in fig["data"]] == ["k before", "k after"]
    assert fig["data"][0]["x"] == hist["epoch"].tolist()
    assert training.line_figure(hist, ("no_such_column",), "x") is None
    table = training.history_table(hist, "t")
    assert "f1" not in _text(table.children[0])
    sim_hist, evaluation = training.similarity_history(tiny_clustered_ws)
    assert sim_hist is not None and "loss" in sim_hist.columns
    assert training.evaluation_table(evaluation) is not None


def test_training_without_runs(tiny_ws: Workspace) -> None:
    assert training.clustering_history(tiny_ws) is None
    assert training.similarity_history(tiny_ws) == (None, {})
    assert training.line_figure(pd.DataFrame({"epoch": [1], "loss": [None]}), ("loss",), "x") is None


def test_summary_cards_compare_with_both_baselines(small_workspace: Workspace) -> None:
    """The NMI card names plain k-means on the same (grid) features and on pooled lite0."""
    s = clusterdata.summary(small_workspace)
    assert s is not None and s["baseline"]["features"] == "efficientnet-lite0-2x2"
    text = _text(clusters.summary_badges(small_workspace))
    assert f"NMI vs labels {s['scores']['nmi']:.2f}" in text
    assert f"plain k-means {s['baseline']['nmi']:.2f} (same features)" in text
    assert f"{s['baseline']['pooled']['nmi']:.2f} (efficientnet-lite0)" in text


def _three_clusters(ws: Workspace, k: int = 3) -> Workspace:
    from core.cluster import ClusterConfig, cluster_workspace

    cfg = ClusterConfig(backbone="efficientnet-lite0", init_umap=None, k_init=k, k_max=k, n_epochs=2, min_epochs=1,
                        batch_size=4, hidden_dim=8, out_dim=4, n_representatives=2, baseline=False, whiten=False)
    cluster_workspace(ws, cfg)
    return ws


def test_granularity_recuts_the_tree_with_names_at_every_level(tiny_clustered_ws: Workspace) -> None:
    ws = _three_clusters(tiny_clustered_ws)
    assert clusterdata.n_levels(ws) == 3
    for n in (1, 2, 3):
        rows = clusters.group_rows(ws, n)
        assert len(rows) == n and sum(r["size"] for r in rows) == 6
        assert all(r["name"] for r in rows)
    assert clusters.group_rows(ws, 3) == clusters.cluster_rows(ws)
    # the group of each fine cluster at level 2 covers exactly its items
    groups = clusterdata.group_members(ws, 2)
    assert sorted(i for v in groups.values() for i in v) == sorted(ws.items()["item_id"])


def test_names_stay_at_their_level_through_a_recut_and_a_rerun(tiny_clustered_ws: Workspace) -> None:
    ws = _three_clusters(tiny_clustered_ws)
    coarse = clusters.group_rows(ws, 2)[0]
    fine = clusters.group_rows(ws, 3)[0]
    assert clusters.rename(ws, coarse["cluster"], "Everyday basics", level=2) == ("Saved.", "success")
    assert clusters.rename(ws, fine["cluster"], "Red tees") == ("Saved.", "success")
    # re-cut: each name shows at its own level only
    assert clusterdata.level_names(ws, 2)[coarse["cluster"]] == "Everyday basics"
    assert "Everyday basics" not in clusterdata.level_names(ws, 3).values()
    assert "Everyday basics" not in clusterdata.level_names(ws, 1).values()
    assert clusterdata.level_names(ws, 3)[fine["cluster"]] == "Red tees"
    assert "Red tees" not in clusterdata.level_names(ws, 2).values()
    # re-run the clustering (a new version, same catalog): both names come back at their levels
    _three_clusters(ws)
    assert "Everyday basics" in clusterdata.level_names(ws, 2).values()
    assert "Red tees" in clusterdata.level_names(ws, 3).values()


def test_bad_granularity(tiny_clustered_ws: Workspace) -> None:
    ws = tiny_clustered_ws
    k = clusterdata.n_levels(ws)
    assert clusters.rename(ws, 0, "x", level=k + 1)[1] == "danger"
    assert clusters.rename(ws, 0, "x", level=0)[1] == "danger"
    for bad in ("0", "-2", "abc", None, "99", "1.5"):
        assert clusterdata.parse_level(bad, k) == k
    assert clusterdata.parse_level("1", k) == 1
    with pytest.raises(InvalidInputError, match="granularity"):
        clusterdata.level_groups(ws, k + 1)


def test_history_table_leaves_nested_columns_out() -> None:
    import pandas as pd

    hist = pd.DataFrame({"epoch": [0, 1], "k_after": [3, 4],
                         "split_tests": [[], [{"cluster": 1, "accepted": True, "statistic": 0.9}]]})
    text = _text(training.history_table(hist, "t").children[0])
    assert "k after" in text and "split tests" not in text  # a dict in a cell would crash React
