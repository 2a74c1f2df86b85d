"""The map at scale: views from relayout events, density grids, polygon selections."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components import explore, map_view


def _points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 10, n).astype(np.float32), rng.uniform(0, 10, n).astype(np.float32)


def _inside_slow(px: float, py: float, xs: list[float], ys: list[float]) -> bool:
    """Reference even-odd test, one point at a time."""
    inside, j = False, len(xs) - 1
    for i in range(len(xs)):
        if (ys[i] > py) != (ys[j] > py) and px < xs[i] + (py - ys[i]) * (xs[j] - xs[i]) / (ys[j] - ys[i]):
            inside = not inside
        j = i
    return inside


def _large_frame(n: int, seed: int = 0) -> pd.DataFrame:
    x, y = _points(n, seed)
    labels = np.array(["Dress", "Hat", "Shoes"])[np.arange(n) % 3]
    return pd.DataFrame({"item_id": [f"{i:016x}" for i in range(n)], "x": x, "y": y, "label": labels,
                         "dominant_colour": "#336699"})


def test_polygon_mask_matches_a_slow_reference_on_a_concave_polygon() -> None:
    x, y = _points(3000)
    xs = np.array([1.0, 9.0, 9.0, 5.0, 5.0, 1.0])  # an L: the top-right quarter is outside
    ys = np.array([1.0, 1.0, 5.0, 5.0, 9.0, 9.0])
    got = map_view.polygon_mask(x, y, xs, ys)
    want = np.array([_inside_slow(float(a), float(b), xs.tolist(), ys.tolist()) for a, b in zip(x, y, strict=True)])
    assert (got == want).all()
    assert not got[(x > 5.5) & (y > 5.5)].any() and got[(x < 4.5) & (x > 1.5) & (y > 1.5) & (y < 8.5)].all()


def test_selection_rows_from_lasso_and_box() -> None:
    x, y = _points(5000)
    lasso = {"points": [], "lassoPoints": {"x": [2, 6, 6, 2], "y": [2, 2, 6, 6]}}
    rows = map_view.selection_rows(x, y, lasso)
    assert rows is not None and np.array_equal(rows, np.flatnonzero((x > 2) & (x < 6) & (y > 2) & (y < 6)))
    box = {"range": {"x": [6, 2], "y": [2, 6]}}
    assert np.array_equal(map_view.selection_rows(x, y, box), rows)


@pytest.mark.parametrize("selected", [
    None, "lasso", {}, {"points": []},
    {"lassoPoints": {"x": [1, 2, "a"], "y": [1, 2, 3]}},
    {"lassoPoints": {"x": [1, 2, 3], "y": [1, 2]}},
    {"lassoPoints": {"x": [1, 2, float("nan")], "y": [1, 2, 3]}},
    {"lassoPoints": {"x": list(range(map_view.MAX_POLYGON_VERTICES + 1)), "y": [0] * (map_view.MAX_POLYGON_VERTICES + 1)}},
    {"range": {"x": [1], "y": [1, 2]}},
])
def test_selection_rows_refuses_what_it_cannot_trust(selected) -> None:
    x, y = _points(100)
    assert map_view.selection_rows(x, y, selected) is None


def test_view_from_relayout() -> None:
    whole = (0.0, 10.0, 0.0, 10.0)
    zoom = {"xaxis.range[0]": 2, "xaxis.range[1]": 4, "yaxis.range[0]": 3, "yaxis.range[1]": 5}
    assert map_view.view_from_relayout(zoom, None, whole) == (True, (2.0, 4.0, 3.0, 5.0))
    assert map_view.view_from_relayout({"xaxis.range": [4, 2], "yaxis.range": [3, 5]}, None, whole) == (True, (2.0, 4.0, 3.0, 5.0))
    # the same view again, or an event that moves no axis: nothing to redraw
    assert map_view.view_from_relayout(zoom, (2.0, 4.0, 3.0, 5.0), whole) == (False, (2.0, 4.0, 3.0, 5.0))
    assert map_view.view_from_relayout({"autosize": True}, None, whole) == (False, None)
    assert map_view.view_from_relayout({"selections": [{}]}, (1.0, 2.0, 1.0, 2.0), whole) == (False, (1.0, 2.0, 1.0, 2.0))
    # one axis moved keeps the other
    assert map_view.view_from_relayout({"xaxis.range": [1, 3]}, (0.0, 5.0, 6.0, 7.0), whole) == (True, (1.0, 3.0, 6.0, 7.0))
    # double click: back to the whole map
    assert map_view.view_from_relayout({"xaxis.autorange": True, "yaxis.autorange": True}, (1.0, 2.0, 1.0, 2.0), whole) == (True, None)
    assert map_view.view_from_relayout({"xaxis.autorange": True}, None, whole) == (False, None)
    for bad in (None, [], {"xaxis.range": ["a", 2]}, {"xaxis.range": [float("inf"), 2]}, {"xaxis.range": [1, 1]}):
        assert map_view.view_from_relayout(bad, None, whole) == (False, None)


def test_check_bounds() -> None:
    assert map_view.check_bounds([0, 1, 2, 3]) == (0.0, 1.0, 2.0, 3.0)
    for bad in (None, [0, 1, 2], [1, 0, 2, 3], [0, 1, "x", 3], [0, float("nan"), 2, 3], "0,1,2,3"):
        assert map_view.check_bounds(bad) is None


def test_density_counts_every_point_once_with_one_representative_per_cell() -> None:
    x, y = _points(20_000)
    rows = np.flatnonzero(x < 8)
    grid = map_view.density(x, y, rows, (0.0, 8.0, 0.0, 10.0), cells=40)
    assert grid.counts.shape == (40, 32) and grid.counts.sum() == len(rows)
    assert len(grid.reps) == int((grid.counts > 0).sum()) and np.isin(grid.reps, rows).all()
    ix = np.clip((x[rows] / 8 * 32).astype(int), 0, 31)
    iy = np.clip((y[rows] / 10 * 40).astype(int), 0, 39)
    _, first = np.unique(iy * 32 + ix, return_index=True)  # the slow reference: first row of each cell
    assert np.array_equal(grid.reps, np.sort(rows[first]))
    assert np.all(np.diff(grid.xc) > 0) and grid.xc[0] > 0 and grid.xc[-1] < 8


def test_a_small_catalog_draws_every_point_whatever_the_view() -> None:
    frame = _large_frame(300)
    fig = explore.build_figure(frame, "label", view=(0.0, 1.0, 0.0, 1.0))
    assert all(t["type"] == "scattergl" for t in fig["data"])
    assert sum(len(r) for r in explore.trace_rows(frame, "label", (0.0, 1.0, 0.0, 1.0))) == 300
    assert explore.view_change(frame, {"xaxis.range": [0, 1], "yaxis.range": [0, 1]}, None) == (False, None)


def test_a_large_map_zoomed_out_is_a_density_with_representatives() -> None:
    n = map_view.MAX_POINTS + 5000
    frame = _large_frame(n)
    fig = explore.build_figure(frame, "label")
    rows = explore.trace_rows(frame, "label")
    assert fig["data"][0]["type"] == "heatmap" and fig["data"][0]["hoverinfo"] == "skip"
    assert [t["type"] for t in fig["data"][1:]] == ["scattergl"] * 3
    assert len(rows) == len(fig["data"]) and len(rows[0]) == 0
    drawn = np.concatenate(rows[1:])
    assert 0 < len(drawn) <= map_view.DENSITY_CELLS ** 2 and len(np.unique(drawn)) == len(drawn)
    z = np.frombuffer(__import__("base64").b64decode(fig["data"][0]["z"]["bdata"]), np.float32)
    assert np.nansum(np.expm1(z)) == pytest.approx(n, rel=1e-4)
    # legend counts are the groups' items, not the representatives
    assert sum(int(t["name"].rsplit("(", 1)[1].rstrip(")")) for t in fig["data"][1:]) == n


def test_a_large_map_zoomed_in_draws_the_points_in_view() -> None:
    frame = _large_frame(map_view.MAX_POINTS + 5000)
    changed, view = explore.view_change(frame, {"xaxis.range": [2, 5], "yaxis.range": [2, 5]}, None)
    assert changed and view == (2.0, 5.0, 2.0, 5.0)
    fig = explore.build_figure(frame, "label", view=view)
    rows = explore.trace_rows(frame, "label", view)
    assert all(t["type"] == "scattergl" for t in fig["data"]) and len(rows) == len(fig["data"])
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    drawn = np.sort(np.concatenate(rows))
    assert np.isin(np.flatnonzero((x >= 2) & (x <= 5) & (y >= 2) & (y <= 5)), drawn).all()  # every point in view
    assert len(drawn) <= map_view.MAX_POINTS  # and some around it (a pan finds points), never too many
    assert np.array_equal(drawn, np.flatnonzero((x <= 8) & (y <= 8)))  # 3x the view, within the map


def test_widen_stays_within_the_whole_map() -> None:
    assert map_view.widen((2.0, 4.0, 2.0, 4.0), 3.0, (0.0, 10.0, 0.0, 10.0)) == (0.0, 6.0, 0.0, 6.0)
    assert map_view.widen((2.0, 4.0, 2.0, 4.0), 1.0, (0.0, 10.0, 0.0, 10.0)) == (2.0, 4.0, 2.0, 4.0)


def test_a_lasso_on_a_large_map_names_every_item_inside() -> None:
    frame = _large_frame(map_view.MAX_POINTS + 5000)
    rows = explore.trace_rows(frame, "label")
    selected = {"points": [{"curveNumber": 1, "pointNumber": 0}], "lassoPoints": {"x": [1, 3, 3, 1], "y": [1, 1, 3, 3]}}
    picked = explore.selected_ids(frame, rows, selected)
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    assert picked == frame["item_id"][(x > 1) & (x < 3) & (y > 1) & (y < 3)].tolist() and len(picked) > 500
    # a hovered representative answers with its item
    row = int(rows[1][0])
    show, _, _ = explore.tooltip(frame, rows, {"points": [{"curveNumber": 1, "pointNumber": 0}]})
    assert show and explore.clicked_href(frame, rows, {"points": [{"curveNumber": 1, "pointNumber": 0}]}) == (
        f"/item/{frame['item_id'].iloc[row]}")
    # the density trace names no item
    assert explore.clicked_href(frame, rows, {"points": [{"curveNumber": 0, "pointNumber": 0}]}) is None


def test_a_redraw_without_a_polygon_keeps_the_tray_of_a_large_map() -> None:
    large, small = _large_frame(map_view.MAX_POINTS + 1), _large_frame(50)
    for dropped in (None, {}, {"points": []}):
        assert explore.keeps_tray(large, dropped) and not explore.keeps_tray(small, dropped)
    assert not explore.keeps_tray(large, {"points": [], "lassoPoints": {"x": [0, 1, 1], "y": [0, 0, 1]}})
    assert not explore.keeps_tray(large, {"range": {"x": [0, 1], "y": [0, 1]}})


def test_the_filter_greys_a_large_map_and_thins_its_lasso() -> None:
    """The filter bar on a map drawn per view: greyed points, not hidden; a lasso collects what passes."""
    frame = _large_frame(map_view.MAX_POINTS + 5000)
    keep = np.zeros(len(frame), dtype=bool)
    keep[::2] = True
    view = (2.0, 5.0, 2.0, 5.0)
    fig = explore.build_figure(frame, "label", view=view, keep=keep)
    rows = explore.trace_rows(frame, "label", view)
    assert sum(len(r) for r in rows) > 0 and len(fig["data"]) == len(rows)
    for trace, r in zip(fig["data"], rows, strict=True):
        colour = np.frombuffer(__import__("base64").b64decode(trace["marker"]["color"]["bdata"]), np.uint8)
        assert np.array_equal(colour, keep[r].astype(np.uint8))  # every drawn point stays, greyed or not
        assert f"{int(keep[r].sum())} of {len(r)}" in trace["name"]
    selected = {"points": [], "lassoPoints": {"x": [1, 3, 3, 1], "y": [1, 1, 3, 3]}}
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    inside = (x > 1) & (x < 3) & (y > 1) & (y < 3)
    assert explore.selected_ids(frame, explore.trace_rows(frame, "label"), selected, keep) == (
        frame["item_id"][inside & keep].tolist())
