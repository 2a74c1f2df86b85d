"""Each page loads in headless Chromium with no console errors; bad ids show a friendly view."""

from __future__ import annotations

import pytest

from tests.browser.conftest import console_errors, screenshot

pytestmark = pytest.mark.browser


def test_overview(atlas) -> None:
    atlas.driver.set_window_size(1400, 1000)
    atlas.wait_for_page(url=atlas.server_url + "/")
    atlas.wait_for_element("#stat-items", timeout=20)
    assert "photos" in atlas.find_element("#stat-items").text.lower()
    atlas.wait_for_element("#overview-samples img")
    screenshot(atlas, "overview")
    assert console_errors(atlas) == []
