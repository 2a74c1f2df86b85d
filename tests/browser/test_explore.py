"""Explore in the browser: hover shows a thumbnail, a lasso fills the tray, the tray saves a tag."""

from __future__ import annotations

import pytest

from components import ids
from core.annotations import Annotations
from tests.browser.conftest import console_errors, screenshot
from tests.browser.helpers import central_point, click_point, hover_point, lasso

pytestmark = pytest.mark.browser


def test_hover_shows_thumbnail(atlas, app_workspace) -> None:
    atlas.driver.set_window_size(1400, 1000)
    atlas.wait_for_page(url=atlas.server_url + "/explore")
    trace, point = central_point(atlas)
    hover_point(atlas, trace=trace, point=point)
    atlas.wait_for_element("#" + ids.HOVER_THUMB, timeout=10)
    src = atlas.find_element("#" + ids.HOVER_THUMB).get_attribute("src")
    item_id = src.rsplit("/", 1)[-1]
    assert src.endswith(f"/img/thumb/{item_id}") and item_id in set(app_workspace.items()["item_id"])
    # the image really loaded (natural size from the served JPEG)
    atlas.wait_for_element("#" + ids.MAP_TOOLTIP_BODY)
    assert atlas.driver.execute_script("return document.querySelector('#hover-thumb').naturalWidth") > 0
    screenshot(atlas, "explore-hover")
    assert console_errors(atlas) == []
    # clicking the point opens that item
    click_point(atlas, trace=trace, point=point)
    atlas.wait_for_element("#" + ids.DETAIL_IMAGE, timeout=20)
    assert atlas.driver.current_url.endswith(f"/item/{item_id}")
    assert console_errors(atlas) == []


def test_lasso_fills_tray_and_saves_tag(atlas, app_workspace) -> None:
    atlas.driver.set_window_size(1400, 1000)
    atlas.wait_for_page(url=atlas.server_url + "/explore")
    lasso(atlas)
    atlas.wait_for_element(f"#{ids.TRAY_GALLERY} img", timeout=10)
    n_cards = len(atlas.find_elements(f"#{ids.TRAY_GALLERY} .item-card"))
    assert n_cards > 0
    assert "selected" in atlas.find_element("#" + ids.TRAY_SUMMARY).text
    atlas.find_element("#" + ids.TRAY_TAG_NAME).send_keys("browser picks")
    atlas.find_element("#" + ids.TRAY_SAVE_TAG).click()
    atlas.wait_for_contains_text("#" + ids.TRAY_MESSAGE, "Tagged", timeout=10)
    tagged = Annotations(app_workspace.annotations_path).items_with_tag("browser picks")
    assert len(tagged) >= n_cards
    screenshot(atlas, "explore-lasso")
    assert console_errors(atlas) == []


def test_the_address_bar_follows_the_controls_and_reopens_the_same_view(atlas, app_workspace) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    atlas.driver.set_window_size(1400, 1000)
    atlas.wait_for_page(url=atlas.server_url + "/explore")
    atlas.driver.find_element("xpath", "//*[@id='explore-color']//label[normalize-space()='Catalog label']").click()
    atlas.wait_for_text_to_equal(f"#{ids.EXPLORE_COLOR} label.active", "Catalog label", timeout=10)
    WebDriverWait(atlas.driver, 10).until(lambda d: "color=label" in d.current_url)
    url = atlas.driver.current_url
    assert "/explore?" in url and "map=" in url
    # opening that address again shows the map coloured by catalog label
    atlas.driver.get(url)
    atlas.wait_for_text_to_equal(f"#{ids.EXPLORE_COLOR} label.active", "Catalog label", timeout=20)
    assert console_errors(atlas) == []
