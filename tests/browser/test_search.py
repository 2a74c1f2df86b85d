"""Search in the browser: an uploaded demo photo comes back first; a slider changes the results."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from components import ids, search
from tests.browser.conftest import console_errors, screenshot

pytestmark = pytest.mark.browser


def _result_ids(duo) -> list[str]:
    links = duo.driver.find_elements(By.CSS_SELECTOR, f"#{ids.SEARCH_GALLERY} .thumb-link")
    return [a.get_attribute("href").rsplit("/", 1)[-1] for a in links]


def test_upload_returns_the_photo_first(atlas, app_workspace) -> None:
    items = app_workspace.items()
    row = items[items["label"].notna()].iloc[3]
    photo = Path(row["source"])
    assert photo.is_file()
    atlas.driver.set_window_size(1400, 1000)
    atlas.wait_for_page(url=atlas.server_url + "/search")
    atlas.wait_for_element("#" + ids.SEARCH_EMPTY, timeout=20)
    atlas.driver.find_element(By.CSS_SELECTOR, f"#{ids.SEARCH_UPLOAD} input[type=file]").send_keys(str(photo))
    atlas.wait_for_element(f"#{ids.SEARCH_GALLERY} .item-card", timeout=30)
    assert _result_ids(atlas)[0] == row["item_id"]
    badge = atlas.find_element(f"#{ids.SEARCH_GALLERY} .score-badge").text
    assert float(badge) > 0.99
    atlas.wait_for_element("#" + ids.SEARCH_QUERY_IMAGE)
    screenshot(atlas, "search-upload")
    assert console_errors(atlas) == []


def test_non_image_upload_shows_a_message(atlas, tmp_path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"these are not the pixels you are looking for")
    atlas.wait_for_page(url=atlas.server_url + "/search")
    atlas.wait_for_element("#" + ids.SEARCH_EMPTY, timeout=20)
    atlas.driver.find_element(By.CSS_SELECTOR, f"#{ids.SEARCH_UPLOAD} input[type=file]").send_keys(str(bad))
    atlas.wait_for_contains_text("#" + ids.SEARCH_MESSAGE, "not an image", timeout=20)
    assert atlas.find_elements("#" + ids.SEARCH_GALLERY) == []
    screenshot(atlas, "search-bad-upload")


def test_slider_changes_results(atlas, app_workspace) -> None:
    item_id = app_workspace.items()["item_id"].iloc[5]
    atlas.driver.set_window_size(1400, 1000)
    atlas.wait_for_page(url=atlas.server_url + f"/search?item={item_id}")
    atlas.wait_for_element(f"#{ids.SEARCH_GALLERY} .item-card", timeout=30)
    before = _result_ids(atlas)
    assert item_id not in before
    thumb = atlas.driver.find_element(By.CSS_SELECTOR, f"#{ids.SEARCH_DIRECTIONS} [role=slider]")
    atlas.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", thumb)
    # a person focuses the slider's handle and moves it to the end with the keyboard
    # (headless Chromium's synthetic drag does not reliably start a Radix slider drag)
    thumb.send_keys(Keys.END)
    atlas.wait_for_contains_text("#" + ids.SEARCH_SUMMARY, "shifted by", timeout=20)
    assert thumb.get_attribute("aria-valuenow") == f"{search.SLIDER_MAX:g}"  # the top of the scale: "with"
    after = _result_ids(atlas)
    assert after and after != before
    screenshot(atlas, "search-slider")
    assert console_errors(atlas) == []
