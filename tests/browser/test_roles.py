"""Hosted mode in the browser: an editor signs in and renames a cluster; after signing out, a
viewer sees the new name but cannot change it."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from components import ids
from tests.browser.conftest import console_errors, screenshot
from tests.components.callbacks import EDITOR, PASSWORD, enable_hosted

pytestmark = pytest.mark.browser
NAME_BOX = '#cluster-detail input[id*="cluster-name"]'


def test_editor_renames_and_a_viewer_only_sees_it(atlas, monkeypatch: pytest.MonkeyPatch) -> None:
    enable_hosted(monkeypatch)  # read on every request, so the running server is hosted now
    atlas.driver.set_window_size(1400, 1000)
    atlas.wait_for_page(url=atlas.server_url + "/clusters?cluster=1")
    assert atlas.wait_for_element(NAME_BOX, timeout=30).get_attribute("disabled") is not None  # a viewer
    atlas.find_element("#" + ids.NAV_SIGNIN).click()
    atlas.wait_for_element("#" + ids.SIGNIN_USERNAME, timeout=20).send_keys(EDITOR)
    atlas.find_element("#" + ids.SIGNIN_PASSWORD).send_keys(PASSWORD)
    atlas.find_element("#" + ids.SIGNIN_SUBMIT).click()
    atlas.wait_for_text_to_equal("#" + ids.NAV_EDITOR, f"Editor: {EDITOR}", timeout=20)
    atlas.wait_for_page(url=atlas.server_url + "/clusters?cluster=1")
    box = atlas.wait_for_element(NAME_BOX, timeout=30)
    assert box.get_attribute("disabled") is None
    box.clear()
    box.send_keys("Signed-in pick")
    atlas.driver.find_element(By.CSS_SELECTOR, '#cluster-detail button[id*="cluster-save"]').click()
    atlas.wait_for_text_to_equal("#rename-status-1", "Saved.", timeout=20)
    screenshot(atlas, "roles-editor-renamed")
    atlas.find_element("#" + ids.NAV_SIGNOUT).click()
    atlas.wait_for_element("#" + ids.NAV_SIGNIN, timeout=20)
    atlas.wait_for_page(url=atlas.server_url + "/clusters?cluster=1")
    box = atlas.wait_for_element(NAME_BOX, timeout=30)
    assert box.get_attribute("value") == "Signed-in pick"
    assert box.get_attribute("disabled") is not None
    assert atlas.find_element('#cluster-detail button[id*="cluster-save"]').get_attribute("disabled") is not None
    screenshot(atlas, "roles-viewer-sees-name")
    assert console_errors(atlas) == []
