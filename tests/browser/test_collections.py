"""Collections in the browser, end to end on real jobs (core.jobs, a local worker process):
create a collection from a ZIP of 30 demo photos with a CSV of labels and watch its import job;
every page is populated; 10 more photos land on the map and in the clusters without a
re-cluster (a grow job); the navbar switches back to the demo, whose re-cluster is cancelled from
the banner; a shared URL opens the right collection. One test, because every step builds on the
last and the builds are what costs."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest

import core.jobs as jobs
from components import ids
from core import collections
from core.workspace import Workspace
from tests.browser.conftest import console_errors, screenshot
from tests.conftest import DEMO, demo_rows

pytestmark = [pytest.mark.browser, pytest.mark.backbone, pytest.mark.umap]
STATUS = f"#{ids.COLLECTION_IMPORT_STATUS}"
MAP_POINTS_JS = ("var gd = document.querySelector(arguments[0]);"
                 "return (gd && gd._fullData || []).reduce(function (n, t) { return n + (t.x ? t.x.length : 0); }, 0);")


def photo_zip(path: Path, rows: list[dict[str, str]]) -> Path:
    """A ZIP of the demo photos of ``rows`` under photos/, with labels.csv naming them."""
    with zipfile.ZipFile(path, "w") as zf:
        for r in rows:
            zf.write(DEMO / r["path"], arcname=f"photos/{Path(r['path']).name}")
        zf.writestr("labels.csv", "file,label\n" + "".join(f"photos/{Path(r['path']).name},{r['label']}\n" for r in rows))
    return path


def import_zip(duo, archive: Path, added: int) -> None:
    """Drop ``archive`` on the Collections page, press Import, watch the job run to its end."""
    duo.find_element(f"#{ids.COLLECTION_IMPORT_UPLOAD} input[type=file]").send_keys(str(archive))
    duo.wait_for_contains_text("#" + ids.COLLECTION_IMPORT_FILES, "1 file(s) chosen", timeout=20)
    click(duo, "#" + ids.COLLECTION_IMPORT)
    duo.wait_for_element(f"{STATUS}-job[data-state=running]", timeout=120)  # the progress, as it goes
    duo.wait_for_element(f"{STATUS}-job[data-state=done]", timeout=900)
    duo.wait_for_contains_text(f"{STATUS}-summary", f"added {added},", timeout=20)


def click(duo, selector: str, timeout: float = 30) -> None:
    """Click ``selector`` once it is there, scrolled to the middle of the window first."""
    el = duo.wait_for_element(selector, timeout=timeout)
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
    el.click()


def map_points(duo, url: str, expected: int) -> int:
    """The points the Explore map at ``url`` draws, once it has drawn ``expected`` (or after 60 s)."""
    from selenium.webdriver.support.ui import WebDriverWait

    duo.driver.get(url)
    duo.wait_for_element(f"#{ids.EXPLORE_MAP} .js-plotly-plot", timeout=60)

    def count(driver) -> int:
        try:
            return int(driver.execute_script(MAP_POINTS_JS, f"#{ids.EXPLORE_MAP} .js-plotly-plot") or 0)
        except Exception:  # noqa: BLE001 - the figure is not drawn yet
            return 0

    try:
        WebDriverWait(duo.driver, 60).until(lambda d: count(d) == expected)
    except Exception:  # noqa: BLE001 - the assert below says what it drew instead
        pass
    return count(duo.driver)


def cluster_members(duo, url: str) -> int:
    """Photos in the clusters, as the Clusters page's "Photos" figure says (the clustering's items)."""
    duo.driver.get(url)
    duo.wait_for_element("#" + ids.CLUSTERS_GRID, timeout=60)
    found = re.search(r"photos\s+([\d,]+)", duo.find_element("#" + ids.PAGE_CLUSTERS).text, flags=re.I)
    return int(found.group(1).replace(",", "")) if found else -1


def test_a_collection_from_a_zip_grows_reclusters_and_shares(dash_duo, browser_workspace, tmp_path, monkeypatch):
    from app import app

    home = tmp_path / "home"
    shutil.copytree(browser_workspace.root, home / "demo")
    monkeypatch.setenv(collections.HOME_ENV, str(home))
    monkeypatch.delenv(collections.WORKSPACE_ENV, raising=False)
    dash_duo.start_server(app)
    dash_duo.driver.set_window_size(1400, 1000)
    base = dash_duo.server_url
    labelled = [r for r in demo_rows() if r["label"]]

    # create a collection, import 30 photos with their labels: an import job builds it
    dash_duo.driver.get(f"{base}/collections?c=demo")
    dash_duo.wait_for_element("#" + ids.COLLECTION_CREATE_NAME, timeout=30).send_keys("Spring 30")
    click(dash_duo, "#" + ids.COLLECTION_CREATE)
    dash_duo.wait_for_element("#" + ids.COLLECTION_IMPORT_UPLOAD, timeout=30)
    assert "c=spring-30" in dash_duo.driver.current_url
    import_zip(dash_duo, photo_zip(tmp_path / "spring.zip", labelled[:30]), added=30)
    screenshot(dash_duo, "collections-imported")
    spring = Workspace.open(home / "spring-30")
    assert set(spring.items()["label"]) == {r["label"] for r in labelled[:30]}  # the CSV's labels came in

    # every page has its data
    assert map_points(dash_duo, f"{base}/explore?c=spring-30", 30) == 30
    assert "Spring 30" in dash_duo.find_element("#" + ids.COLLECTION_SWITCHER).text
    assert "active" in dash_duo.find_element('.navbar a[href^="/explore"]').get_attribute("class")
    assert cluster_members(dash_duo, f"{base}/clusters?c=spring-30") == 30
    dash_duo.driver.get(f"{base}/search?c=spring-30")
    dash_duo.wait_for_element("#" + ids.SEARCH_EMPTY, timeout=30)
    dash_duo.driver.get(f"{base}/?c=spring-30")
    dash_duo.wait_for_contains_text("#" + ids.PAGE_OVERVIEW, "30", timeout=30)

    # 10 more photos: placed on the map and in the clusters without a re-cluster
    clustering = spring.version("clusters/default")
    dash_duo.driver.get(f"{base}/collections?c=spring-30")
    dash_duo.wait_for_element("#" + ids.COLLECTION_IMPORT_UPLOAD, timeout=30)
    import_zip(dash_duo, photo_zip(tmp_path / "more.zip", labelled[30:40]), added=10)
    grown = jobs.latest(spring.root)
    assert grown is not None and grown.result["grow"]["clusters"]["added"] == 10
    assert "cluster (DeepCluster)" not in grown.steps_done  # no retraining
    assert Workspace.open(spring.root).version("clusters/default") == (clustering or 0) + 1
    assert map_points(dash_duo, f"{base}/explore?c=spring-30", 40) == 40
    assert cluster_members(dash_duo, f"{base}/clusters?c=spring-30") == 40

    # switch back to the demo with the navbar menu
    click(dash_duo, f"#{ids.COLLECTION_SWITCHER} .dropdown-toggle")
    click(dash_duo, '[id*="collection-open"][id*="demo"]')
    dash_duo.wait_for_contains_text("#" + ids.COLLECTION_SWITCHER, "demo", timeout=30)
    assert "c=demo" in dash_duo.driver.current_url
    dash_duo.wait_for_contains_text("#" + ids.PAGE_OVERVIEW, f"{len(browser_workspace.items()):,}", timeout=30)

    # a re-cluster of the demo (its DeepCluster fit is the longer one), cancelled from the
    # banner: the job stops and the clusters it had stay readable
    demo_items = len(browser_workspace.items())
    dash_duo.driver.get(f"{base}/collections?c=demo")
    click(dash_duo, "#" + ids.COLLECTION_RECLUSTER)
    click(dash_duo, "#" + ids.BUILD_CANCEL)
    dash_duo.wait_for_contains_text("#" + ids.BUILD_STATE_FAILED, "did not finish", timeout=60)
    assert "Re-clustering" in dash_duo.find_element("#" + ids.BUILD_STATE_FAILED).text
    assert jobs.latest(home / "demo").state == "cancelled"  # type: ignore[union-attr]
    assert cluster_members(dash_duo, f"{base}/clusters?c=demo") == demo_items

    # the shared link opens the same collection and view in a fresh page
    assert map_points(dash_duo, f"{base}/explore?c=spring-30", 40) == 40
    assert "Spring 30" in dash_duo.find_element("#" + ids.COLLECTION_SWITCHER).text
    assert console_errors(dash_duo) == []
