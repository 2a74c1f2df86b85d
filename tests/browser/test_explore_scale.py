"""Explore on a map too large to draw whole: a density when zoomed out, points once zoomed in,
hover and lasso answering by item throughout."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components import ids, map_view
from core.workspace import Workspace
from tests.browser.conftest import console_errors, screenshot
from tests.browser.helpers import MAP, central_point, hover_point, lasso

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]

N = map_view.MAX_POINTS + 4_000

_KINDS_JS = """
var gd = document.querySelector(arguments[0]);
if (!gd || !gd._fullData) { return null; }
return gd._fullData.map(function (t) { return [t.type, (t.x && t.x.length) || 0]; });
"""


@pytest.fixture(scope="module")
def large_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A catalog of ``N`` items on a blob-shaped map; every thumbnail a hard link to one real one."""
    from sklearn.datasets import make_blobs

    from core.projection import write_projection

    ws = Workspace(tmp_path_factory.mktemp("large") / "ws")
    item_ids = [f"{i:016x}" for i in range(N)]
    labels = np.array(["Dress", "Shoes", "Hat", "Skirt"])[np.arange(N) % 4]
    with ws.write_artifact("items", {"synthetic": True}) as tmp:
        pd.DataFrame({"item_id": item_ids, "source": [f"synthetic:{i}" for i in range(N)], "width": 200, "height": 200,
                      "label": labels}).to_parquet(tmp / "items.parquet", index=False)
    xy, _ = make_blobs(n_samples=N, centers=6, n_features=2, cluster_std=1.0, random_state=0)
    write_projection(ws, pd.DataFrame({"item_id": item_ids, "x": xy[:, 0].astype(np.float32),
                                       "y": xy[:, 1].astype(np.float32)}), "default", {"synthetic": True})
    from PIL import Image

    seed = ws.root / "seed.jpg"
    with Image.open(next(iter(sorted((REPO / "data" / "demo" / "images").glob("*.jpg"))))) as im:
        im.convert("RGB").resize((160, 160)).save(seed, quality=85)
    ws.thumb_path(item_ids[0]).parent.mkdir(parents=True, exist_ok=True)
    for item_id in item_ids:
        os.link(seed, ws.thumb_path(item_id))
    return ws


@pytest.fixture()
def large_atlas(dash_duo, large_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    monkeypatch.setenv("STYLE_ATLAS_WORKSPACE", str(large_workspace.root))
    from app import app

    dash_duo.start_server(app)
    yield dash_duo


def _kinds(duo) -> list[tuple[str, int]] | None:
    return duo.driver.execute_script(_KINDS_JS, MAP)


def _wait_kinds(duo, check, timeout: float = 30) -> list[tuple[str, int]]:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(duo.driver, timeout).until(lambda _d: (k := _kinds(duo)) and check(k) and k)


def _hover_shows_thumbnail(duo) -> None:
    trace, point = central_point(duo)
    hover_point(duo, trace=trace, point=point)
    duo.wait_for_element("#" + ids.HOVER_THUMB, timeout=10)
    src = duo.find_element("#" + ids.HOVER_THUMB).get_attribute("src")
    assert re.search(r"/img/thumb/[0-9a-f]{16}$", src)
    duo.driver.execute_script("document.querySelector(arguments[0]).dispatchEvent(new MouseEvent('mouseout'))", MAP)


def test_zoomed_out_density_then_points_in_view(large_atlas, large_workspace: Workspace) -> None:
    duo = large_atlas
    duo.driver.set_window_size(1400, 1000)
    duo.wait_for_page(url=duo.server_url + "/explore")
    duo.wait_for_element(MAP, timeout=30)
    kinds = _wait_kinds(duo, lambda k: k[0][0] == "heatmap")
    drawn = sum(n for t, n in kinds if t == "scattergl")
    assert 0 < drawn < N  # representatives only, not every point
    screenshot(duo, "explore-large-density")
    _hover_shows_thumbnail(duo)

    # a lasso on the aggregated view collects every item inside it, more than were drawn there
    lasso(duo, fraction=0.3)
    duo.wait_for_contains_text("#" + ids.TRAY_SUMMARY, "selected", timeout=20)
    selected = int(re.search(r"([\d,]+) photos? selected", duo.find_element("#" + ids.TRAY_SUMMARY).text)
                   .group(1).replace(",", ""))
    assert selected > drawn // 10

    # zoom in (as a scroll or box zoom does: a relayout event with the new ranges)
    duo.driver.execute_script(
        "var gd = document.querySelector(arguments[0]), xr = gd._fullLayout.xaxis.range, yr = gd._fullLayout.yaxis.range;"
        "var cx = (xr[0] + xr[1]) / 2, cy = (yr[0] + yr[1]) / 2, dx = (xr[1] - xr[0]) / 8, dy = (yr[1] - yr[0]) / 8;"
        "Plotly.relayout(gd, {'xaxis.range': [cx - dx, cx + dx], 'yaxis.range': [cy - dy, cy + dy]});", MAP)
    kinds = _wait_kinds(duo, lambda k: all(t == "scattergl" for t, _ in k))
    shown = sum(n for _, n in kinds)
    assert 0 < shown <= map_view.MAX_POINTS
    assert f"{selected} photos selected" in duo.find_element("#" + ids.TRAY_SUMMARY).text  # the zoom kept the tray
    screenshot(duo, "explore-large-zoomed")
    _hover_shows_thumbnail(duo)

    # double click (autorange): back to the whole map's density
    duo.driver.execute_script(
        "Plotly.relayout(document.querySelector(arguments[0]), {'xaxis.autorange': true, 'yaxis.autorange': true});", MAP)
    _wait_kinds(duo, lambda k: k[0][0] == "heatmap")
    assert console_errors(duo) == []


def test_the_demo_sized_map_stays_plain_points(atlas, app_workspace: Workspace) -> None:
    atlas.driver.set_window_size(1400, 1000)
    atlas.wait_for_page(url=atlas.server_url + "/explore")
    atlas.wait_for_element(MAP, timeout=30)
    kinds = _wait_kinds(atlas, lambda k: len(k) > 0)
    from core.projection import load_projection

    assert all(t == "scattergl" for t, _ in kinds) and sum(n for _, n in kinds) == len(load_projection(app_workspace))

