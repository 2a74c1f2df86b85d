"""Clusters and Training logic on a real (tiny) clustering run."""

from __future__ import annotations

import pandas as pd
import pytest

from components import clusterdata, clusters, explore, item, training
from core.annotations import Annotations
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
