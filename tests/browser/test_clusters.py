"""Clusters in the browser: a renamed cluster keeps its name after a reload."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from components import ids
from tests.browser.conftest import console_errors, screenshot

pytestmark = pytest.mark.browser


def test_renamed_cluster_keeps_its_name(atlas) -> None:
    atlas.driver.set_window_size(1400, 1000)
    atlas.wait_for_page(url=atlas.server_url + "/clusters?cluster=0")
    box = atlas.wait_for_element('#cluster-detail input[id*="cluster-name"]', timeout=30)
    box.clear()
    box.send_keys("Weekend essentials")
    atlas.driver.find_element(By.CSS_SELECTOR, '#cluster-detail button[id*="cluster-save"]').click()
    atlas.wait_for_text_to_equal("#rename-status-0", "Saved.", timeout=20)
    atlas.driver.refresh()
    box = atlas.wait_for_element('#cluster-detail input[id*="cluster-name"]', timeout=30)
    assert box.get_attribute("value") == "Weekend essentials"
    # and the overview of clusters and the map legend use it too
    atlas.wait_for_page(url=atlas.server_url + "/clusters")
    atlas.wait_for_element("#cluster-card-0 input", timeout=30)
    assert atlas.find_element("#cluster-card-0 input").get_attribute("value") == "Weekend essentials"
    atlas.wait_for_page(url=atlas.server_url + "/explore?color=cluster")
    atlas.wait_for_contains_text("#" + ids.EXPLORE_MAP, "Weekend essentials", timeout=30)
    screenshot(atlas, "clusters-renamed")
    assert console_errors(atlas) == []
