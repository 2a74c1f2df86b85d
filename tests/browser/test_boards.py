"""Boards in the browser: a board from a lasso, reordered by drag and drop, exported as a PDF
look-book and a ZIP (the downloaded files checked); the map filtered by a tag greys the others;
the catalog table follows the map's selection."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from components import ids
from core.annotations import Annotations
from core.boards import Boards
from tests.browser.conftest import console_errors, screenshot
from tests.browser.helpers import MAP, lasso

pytestmark = pytest.mark.browser

# Native HTML5 drag and drop cannot be driven by WebDriver's mouse actions in Chromium; the
# events a person's drag fires are dispatched instead, onto the real pieces, so the page's own
# handler (assets/board_drag.js) does the work.
_DRAG_JS = """
const pieces = document.querySelectorAll('#board-pieces .board-piece');
const source = pieces[arguments[0]], target = pieces[arguments[1]];
const r = target.getBoundingClientRect();
const at = {clientX: r.right - 5, clientY: r.top + r.height / 2, bubbles: true, cancelable: true};
const dt = new DataTransfer();
source.dispatchEvent(new DragEvent('dragstart', {...at, dataTransfer: dt}));
target.dispatchEvent(new DragEvent('dragover', {...at, dataTransfer: dt}));
target.dispatchEvent(new DragEvent('drop', {...at, dataTransfer: dt}));
source.dispatchEvent(new DragEvent('dragend', {...at, dataTransfer: dt}));
"""


def _downloaded(folder: Path, suffix: str, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(f"*{suffix}") if p.stat().st_size > 0]
        if done and not list(folder.glob("*.crdownload")):
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} file downloaded into {folder}: {list(folder.iterdir())}")


def test_board_from_a_lasso_reordered_and_exported(atlas, app_workspace) -> None:
    from pypdf import PdfReader

    atlas.driver.set_window_size(1400, 1000)
    atlas.wait_for_page(url=atlas.server_url + "/explore")
    lasso(atlas)
    atlas.wait_for_element(f"#{ids.TRAY_GALLERY} img", timeout=10)
    atlas.find_element("#" + ids.TRAY_NEW_BOARD).send_keys("Browser look-book")
    atlas.find_element("#" + ids.TRAY_NEW_BOARD_GO).click()
    atlas.wait_for_contains_text("#" + ids.TRAY_MESSAGE, "made with", timeout=15)
    repo = Boards(app_workspace.annotations_path)
    board = repo.find("Browser look-book")
    assert len(board.items) >= 3
    before = board.item_ids

    atlas.wait_for_page(url=f"{atlas.server_url}/boards?board={board.board_id}")
    atlas.wait_for_element("#board-pieces .board-piece", timeout=15)
    atlas.driver.execute_script(_DRAG_JS, 0, 2)  # the first piece dropped after the third
    atlas.wait_for_contains_text("#" + ids.BOARD_MESSAGE, "Order saved", timeout=10)
    after = repo.get(board.board_id).item_ids
    assert after == [before[1], before[2], before[0], *before[3:]]
    shown = atlas.driver.execute_script(
        "return Array.from(document.querySelectorAll('#board-pieces .board-piece')).map(p => p.dataset.item)")
    assert shown == after  # the page redraws the saved order
    screenshot(atlas, "board-reordered")

    downloads = Path(atlas.download_path)
    atlas.find_element("#board-export-pdf").click()
    pdf = PdfReader(io.BytesIO(_downloaded(downloads, ".pdf").read_bytes()))
    assert len(pdf.pages) == 1 + len(after)
    for page, item_id in zip(pdf.pages[1:4], after[:3], strict=True):  # images in the new order
        [xobject] = page["/Resources"]["/XObject"].values()
        assert xobject.get_object().get_data() == app_workspace.image_path(item_id).read_bytes()
    atlas.find_element("#board-export-zip").click()
    with zipfile.ZipFile(_downloaded(downloads, ".zip")) as zf:
        names = zf.namelist()
        assert names[-1] == "catalog.csv" and len(names) == len(after) + 1
        assert [n.rsplit("-", 1)[-1].split(".")[0] for n in names[:-1]] == after
    assert console_errors(atlas) == []


def test_filter_the_map_by_a_tag_greys_the_others(atlas, app_workspace) -> None:
    item_ids = app_workspace.items()["item_id"].tolist()
    Annotations(app_workspace.annotations_path).add_tag(item_ids[:5], "greyed test")
    atlas.driver.set_window_size(1400, 1000)
    atlas.wait_for_page(url=atlas.server_url + "/explore")
    atlas.wait_for_element(MAP, timeout=60)
    atlas.select_dcc_dropdown(f"#{ids.FILTER_BAR} " + '[id*=\'"facet":"tag"\']', value="greyed test (5)")
    atlas.find_element("body").send_keys(Keys.ESCAPE)
    WebDriverWait(atlas.driver, 15).until(lambda d: "f_tag=greyed+test" in d.current_url
                                          or "f_tag=greyed%20test" in d.current_url)
    counts_js = """
    const gd = document.querySelector(arguments[0]);
    if (!gd || !gd._fullData) { return [0, 0, 0, 0]; }
    let kept = 0, all = 0, scaled = 0;
    gd._fullData.forEach(t => { const c = t.marker.color; all += t.x.length;
      if (t.marker.colorscale) { scaled += 1; for (let i = 0; i < c.length; i++) { kept += c[i]; } } });
    return [kept, all, scaled, gd._fullData.length];
    """
    WebDriverWait(atlas.driver, 15).until(lambda d: d.execute_script(counts_js, MAP)[2] > 0)
    kept, total, scaled, traces = atlas.driver.execute_script(counts_js, MAP)
    assert (kept, total) == (5, len(item_ids)) and scaled == traces  # the rest greyed, still drawn
    legend = " ".join(e.text for e in atlas.find_elements(f"#{ids.EXPLORE_MAP} .legendtext"))
    assert " of " in legend
    screenshot(atlas, "explore-filtered")
    # the filter lives in the URL: opening it again shows the same view
    atlas.wait_for_page(url=atlas.driver.current_url)
    atlas.wait_for_element(MAP, timeout=60)
    WebDriverWait(atlas.driver, 15).until(lambda d: d.execute_script(counts_js, MAP)[2] > 0)
    assert atlas.driver.execute_script(counts_js, MAP)[:2] == [5, len(item_ids)]
    atlas.find_element("#" + ids.FILTER_RESET).click()  # cleared: nothing greyed, the URL without it
    WebDriverWait(atlas.driver, 15).until(lambda d: d.execute_script(counts_js, MAP)[2] == 0)
    WebDriverWait(atlas.driver, 15).until(lambda d: "f_tag" not in d.current_url)
    assert console_errors(atlas) == []


def test_catalog_table_follows_the_map_selection(atlas, app_workspace) -> None:
    atlas.driver.set_window_size(1400, 1000)
    atlas.wait_for_page(url=atlas.server_url + "/explore")
    opener = atlas.wait_for_element("#" + ids.CATALOG_GRID_OPEN, timeout=20)
    atlas.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", opener)
    atlas.wait_for_element(f"#{ids.CATALOG_GRID} .ag-row img.grid-thumb", timeout=20)
    lasso(atlas)
    atlas.wait_for_element(f"#{ids.TRAY_GALLERY} img", timeout=10)
    n_tray = len(atlas.find_elements(f"#{ids.TRAY_GALLERY} .item-card"))
    WebDriverWait(atlas.driver, 10).until(
        lambda d: len(d.find_elements("css selector", f"#{ids.CATALOG_GRID} .ag-center-cols-container .ag-row-selected")) > 0)
    assert n_tray > 0
    screenshot(atlas, "explore-table")
    assert console_errors(atlas) == []
