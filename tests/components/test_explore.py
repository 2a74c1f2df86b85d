"""Explore logic: the map frame, the WebGL figure, tooltips and the selection tray."""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import pytest

from components import explore
from core.annotations import Annotations
from core.workspace import Workspace


def _frame(ws: Workspace) -> pd.DataFrame:
    return explore.map_frame(explore.current_key(ws))


def _decode(spec: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(spec["bdata"]), dtype={"f4": np.float32, "i4": np.int32}[spec["dtype"]])


def test_map_frame_joins_metadata(tiny_ws: Workspace) -> None:
    frame = _frame(tiny_ws)
    assert len(frame) == 6
    assert list(frame["item_id"]) == tiny_ws.items()["item_id"].tolist()
    assert sorted(frame["label"].unique()) == ["Dress", "Hat", "Shoes", "unlabelled"]
    assert frame["dominant_colour"].str.match(r"^#[0-9a-f]{6}$").all()
    assert "cluster" not in frame.columns  # no clustering in this workspace


def test_key_follows_versions(tiny_ws: Workspace) -> None:
    k1 = explore.current_key(tiny_ws)
    assert explore.MapKey.from_dict(k1.to_dict(), tiny_ws) == k1
    coords = pd.DataFrame({"item_id": tiny_ws.items()["item_id"], "x": 0.0, "y": 0.0})
    from core.projection import write_projection

    write_projection(tiny_ws, coords, "default", {})
    k2 = explore.current_key(tiny_ws)
    assert k2.projection_version == k1.projection_version + 1
    assert (explore.map_frame(k2)["x"] == 0).all()


def test_figure_one_trace_per_label_with_row_numbers(tiny_ws: Workspace) -> None:
    frame = _frame(tiny_ws)
    fig = explore.build_figure(frame, "cluster")  # falls back to labels without a clustering
    assert explore.effective_color(frame, "cluster") == "label"
    assert all(t["type"] == "scattergl" and t["hoverinfo"] == "none" for t in fig["data"])
    names = [t["name"] for t in fig["data"]]
    assert names[-1].startswith("unlabelled")
    rows = explore.trace_rows(frame, "cluster")
    assert len(rows) == len(fig["data"])
    assert sorted(np.concatenate(rows).tolist()) == list(range(6))
    for t, r in zip(fig["data"], rows, strict=True):
        assert np.allclose(_decode(t["x"]), frame["x"].to_numpy()[r])
        assert np.allclose(_decode(t["y"]), frame["y"].to_numpy()[r])
        assert set(frame["label"].iloc[r]) == {t["name"].rsplit(" (", 1)[0]}
    assert fig["layout"]["dragmode"] == "lasso"


def test_figure_by_dominant_colour(tiny_ws: Workspace) -> None:
    fig = explore.build_figure(_frame(tiny_ws), "colour")
    assert len(fig["data"]) == 1
    assert fig["data"][0]["marker"]["color"] == _frame(tiny_ws)["dominant_colour"].tolist()


def test_tooltip_shows_the_hovered_items_thumbnail(tiny_ws: Workspace) -> None:
    frame = _frame(tiny_ws)
    rows = explore.trace_rows(frame, "label")
    bbox = {"x0": 1, "x1": 2, "y0": 3, "y1": 4}
    row = int(rows[1][0])
    show, got_bbox, children = explore.tooltip(frame, rows, {"points": [{"curveNumber": 1, "pointNumber": 0,
                                                                          "bbox": bbox}]})
    assert show and got_bbox == bbox
    img = children.children[0]
    assert img.src == f"/img/thumb/{frame['item_id'].iloc[row]}"
    assert children.children[1].children == frame["label"].iloc[row]


@pytest.mark.parametrize("hover", [None, {}, {"points": []}, {"points": [{"curveNumber": 0, "pointNumber": 99}]},
                                   {"points": [{"curveNumber": 42, "pointNumber": 0}]},
                                   {"points": [{"curveNumber": "x", "pointNumber": 0}]}, {"points": [{}]}])
def test_tooltip_hidden_for_bad_hover(tiny_ws: Workspace, hover) -> None:
    frame = _frame(tiny_ws)
    assert explore.tooltip(frame, explore.trace_rows(frame, "label"), hover)[0] is False


def test_selection_ids(tiny_ws: Workspace) -> None:
    frame = _frame(tiny_ws)
    rows = explore.trace_rows(frame, "colour")  # one trace, point j is row j
    sel = {"points": [{"curveNumber": 0, "pointNumber": n} for n in (3, 1, 3, 42)]}
    assert explore.selected_ids(frame, rows, sel) == [frame["item_id"].iloc[1], frame["item_id"].iloc[3]]
    assert explore.selected_ids(frame, rows, None) == []


def test_save_tray_as_tag_and_direction(tiny_ws: Workspace) -> None:
    ids = tiny_ws.items()["item_id"].tolist()
    msg, colour = explore.save_tray(tiny_ws, ids[:2] + ["ffffffffffffffff"], "tag", "summer")
    assert colour == "success" and "2 photo" in msg
    assert Annotations(tiny_ws.annotations_path).items_with_tag("summer") == ids[:2]
    msg, colour = explore.save_tray(tiny_ws, ids[:2], "positive", "stripes")
    assert "needs at least 3" in msg and "1 more positive" in msg and "3 more negative" in msg
    explore.save_tray(tiny_ws, ids[2:5], "negative", "stripes")
    msg, _ = explore.save_tray(tiny_ws, ids[5:], "positive", "stripes")
    assert "slider on the Search page" in msg
    [d] = Annotations(tiny_ws.annotations_path).direction_examples()
    assert d.positive_ids == (ids[0], ids[1], ids[5]) and d.negative_ids == tuple(ids[2:5])


@pytest.mark.parametrize("ids, name, expected", [([], "x", "Select some"), (None, "x", "Select some"),
                                                   (["0123456789abcdef"], "x", "Select some")])
def test_save_tray_needs_a_selection(tiny_ws: Workspace, ids, name, expected) -> None:
    msg, colour = explore.save_tray(tiny_ws, ids, "tag", name)
    assert colour == "warning" and expected in msg


def test_save_tray_needs_a_name(tiny_ws: Workspace) -> None:
    ids = tiny_ws.items()["item_id"].tolist()
    assert explore.save_tray(tiny_ws, ids, "tag", "  ")[1] == "warning"
    assert explore.save_tray(tiny_ws, ids, "tag", "x" * 100)[1] == "danger"


def test_click_opens_the_item(tiny_ws: Workspace) -> None:
    frame = _frame(tiny_ws)
    rows = explore.trace_rows(frame, "colour")
    assert explore.clicked_href(frame, rows, {"points": [{"curveNumber": 0, "pointNumber": 4}]}) == \
        f"/item/{frame['item_id'].iloc[4]}"
    assert explore.clicked_href(frame, rows, {"points": [{"curveNumber": 3, "pointNumber": 0}]}) is None
    assert explore.clicked_href(frame, rows, None) is None


def test_an_oversized_tray_is_refused_before_anything_is_saved(tiny_ws: Workspace) -> None:
    """A forged tray of more ids than the cap (a whole catalog) saves nothing, tag or direction."""
    ids = tiny_ws.items()["item_id"].tolist()
    forged = (ids * (explore.MAX_TRAY_ITEMS // len(ids) + 2))[: explore.MAX_TRAY_ITEMS + 1]
    for action in ("tag", "positive"):
        msg, colour = explore.save_tray(tiny_ws, forged, action, "everything")
        assert colour == "warning" and f"at most {explore.MAX_TRAY_ITEMS} photos" in msg
    repo = Annotations(tiny_ws.annotations_path)
    assert repo.all_tags() == {} and repo.direction_examples() == []
    assert f"only the first {explore.MAX_TRAY_ITEMS} can be saved" in explore.tray_summary(explore.MAX_TRAY_ITEMS + 1)


def test_a_forged_root_in_the_store_reads_nothing_else(tiny_ws: Workspace, tmp_path) -> None:
    """The browser's store names runs and versions, never a folder: a forged ``root`` (another
    workspace on the server's disk) and a forged version change nothing that is read."""
    import shutil

    from core.projection import write_projection

    other = Workspace(shutil.copytree(tiny_ws.root, tmp_path / "other"), create=False)
    write_projection(other, pd.DataFrame({"item_id": other.items()["item_id"], "x": 999.0, "y": 999.0}), "default", {})
    store = explore.current_key(tiny_ws).to_dict()
    assert "root" not in store  # the server's path never reaches the browser
    forged = {**store, "root": str(other.root), "projection_version": 99, "items_version": 99}
    key = explore.MapKey.from_dict(forged, tiny_ws)
    assert key == explore.current_key(tiny_ws)
    assert (explore.map_frame(key)["x"] != 999.0).all()
    assert explore.MapKey.from_dict({**store, "projection": "../../etc"}, tiny_ws).projection == "default"


def test_legend_recuts_the_tree_without_retraining(tiny_clustered_ws: Workspace) -> None:
    from components import clusterdata
    from tests.components.test_clusters import _three_clusters

    ws = _three_clusters(tiny_clustered_ws)
    fine = explore.current_key(ws)
    assert fine.level is None and fine.clusters == "default"
    coarse = explore.current_key(ws, level=2)
    assert coarse.level == 2
    frame = explore.map_frame(coarse)
    to_node = clusterdata.leaf_to_group(ws, 2)
    fine_frame = explore.map_frame(fine)
    assert frame["cluster"].tolist() == [to_node[c] for c in fine_frame["cluster"]]
    assert frame["cluster"].nunique() == 2
    names = explore.legend_names(ws, coarse)
    assert set(names) == set(frame["cluster"]) and all(names.values())
    fig = explore.build_figure(frame, "cluster", names)
    assert len(fig["data"]) == 2
    # the level travels through the browser's store and is checked on the way back
    assert explore.MapKey.from_dict(coarse.to_dict("cluster"), ws).level == 2
    for bad in (0, 3, 99, "x", None, -1):
        assert explore.MapKey.from_dict({**coarse.to_dict("cluster"), "level": bad}, ws).level is None
