"""Curating in the browser: keep one of a duplicate group and see the rest gone from the
galleries; thumbs-down a search result and see it leave."""

from __future__ import annotations

import json
import math

import pytest
from selenium.webdriver.common.by import By

from components import clusterdata, ids
from core import duplicates, hidden
from tests.browser.conftest import console_errors, screenshot

pytestmark = pytest.mark.browser


def _gallery_ids(duo, gallery: str) -> list[str]:
    links = duo.driver.find_elements(By.CSS_SELECTOR, f"#{gallery} .thumb-link")
    return [a.get_attribute("href").split("?")[0].rsplit("/", 1)[-1] for a in links]


def _by_id(duo, ident: dict[str, str]):
    """The element of a pattern-matching id (Dash writes it as JSON with sorted keys)."""
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"))
    element = duo.driver.execute_script("return document.getElementById(arguments[0])", text)
    assert element is not None, f"no element {text}"
    return element


def test_keep_one_duplicate_and_the_other_leaves_the_galleries(atlas, app_workspace) -> None:
    ws = app_workspace
    graph = duplicates.workspace_graph(ws)
    row = int(graph.sims[:, 0].argmax())  # the closest pair of the catalog stands in for a duplicate
    keeper, twin = str(graph.ids[row]), str(graph.ids[graph.nbr[row, 0]])
    threshold = max(duplicates.MIN_THRESHOLD, math.floor(float(graph.sims[row, 0]) * 100) / 100)
    cluster = next(c for c, members in clusterdata.members(ws).items() if twin in members)
    try:
        atlas.driver.set_window_size(1400, 1000)
        atlas.wait_for_page(url=atlas.server_url + f"/clusters?cluster={cluster}")
        atlas.wait_for_element(f"#{ids.CLUSTER_GALLERY} .item-card", timeout=30)
        assert twin in _gallery_ids(atlas, ids.CLUSTER_GALLERY)

        atlas.wait_for_page(url=atlas.server_url + f"/duplicates?threshold={threshold}")
        atlas.wait_for_element(f"#{ids.DUP_GROUPS} .item-card", timeout=30)
        button = _by_id(atlas, {"item": keeper, "type": ids.DUP_KEEP_TYPE})
        atlas.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()
        atlas.wait_for_contains_text("#" + ids.DUP_MESSAGE, "hid", timeout=20)
        atlas.wait_for_contains_text("#" + ids.DUP_HIDDEN, "hides", timeout=20)
        assert twin in hidden.hidden_ids(ws.annotations_path)
        screenshot(atlas, "duplicates-kept")

        atlas.wait_for_page(url=atlas.server_url + f"/clusters?cluster={cluster}")
        atlas.wait_for_element(f"#{ids.CLUSTER_GALLERY} .item-card", timeout=30)
        assert twin not in _gallery_ids(atlas, ids.CLUSTER_GALLERY)
        atlas.wait_for_page(url=atlas.server_url + f"/search?item={keeper}")
        atlas.wait_for_element(f"#{ids.SEARCH_GALLERY} .item-card", timeout=30)
        assert twin not in _gallery_ids(atlas, ids.SEARCH_GALLERY)
        assert console_errors(atlas) == []
    finally:
        hidden.unhide(ws.annotations_path, [keeper])


def test_thumbs_down_takes_the_result_away(atlas, app_workspace) -> None:
    item_id = app_workspace.items()["item_id"].iloc[7]
    atlas.driver.set_window_size(1400, 1000)
    atlas.wait_for_page(url=atlas.server_url + f"/search?item={item_id}")
    atlas.wait_for_element(f"#{ids.SEARCH_GALLERY} .item-card", timeout=30)
    before = _gallery_ids(atlas, ids.SEARCH_GALLERY)
    first = before[0]
    down = _by_id(atlas, {"item": first, "type": ids.SEARCH_VOTE_TYPE, "vote": "down"})
    atlas.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", down)
    down.click()
    atlas.wait_for_contains_text("#" + ids.SEARCH_SUMMARY, "1 👎", timeout=20)
    after = _gallery_ids(atlas, ids.SEARCH_GALLERY)
    assert first not in after and len(after) == len(before)
    screenshot(atlas, "search-thumbs-down")
    assert console_errors(atlas) == []
