"""Each page loads in headless Chromium with no console errors; bad ids show a friendly view."""

from __future__ import annotations

import pytest

from components import ids
from tests.browser.conftest import console_errors, screenshot

pytestmark = pytest.mark.browser


def _visit(duo, path: str, selector: str, name: str) -> None:
    duo.driver.set_window_size(1400, 1000)
    duo.wait_for_page(url=duo.server_url + path)
    duo.wait_for_element(selector, timeout=30)
    screenshot(duo, name)
    assert console_errors(duo) == []


def test_every_page_loads(atlas, app_workspace) -> None:
    item_id = app_workspace.items()["item_id"].iloc[0]
    _visit(atlas, "/", f"#{ids.OVERVIEW_SAMPLES} img", "overview")
    assert "photos" in atlas.find_element("#" + ids.STAT_ITEMS).text.lower()
    _visit(atlas, "/explore", f"#{ids.EXPLORE_MAP} .js-plotly-plot", "explore")
    _visit(atlas, "/clusters", "#" + ids.CLUSTERS_TABS, "clusters")
    _visit(atlas, "/clusters?cluster=0", f"#{ids.CLUSTER_GALLERY} .item-card", "cluster-detail")
    _visit(atlas, "/clusters?view=novel", "#" + ids.CLUSTERS_TABS, "clusters-novel")
    _visit(atlas, "/training", "#cluster-history", "training")
    _visit(atlas, "/search", "#" + ids.SEARCH_EMPTY, "search")
    _visit(atlas, f"/item/{item_id}", "#" + ids.DETAIL_IMAGE, "item")
    atlas.wait_for_element(f"#{ids.ITEM_NEIGHBOURS} .item-card")
    # the navbar is built from the page registry
    nav = [a.text for a in atlas.find_elements(".navbar .nav-link")]
    assert nav == ["Overview", "Explore", "Clusters", "Training", "Search", "Duplicates", "Boards", "Collections"]
    for path in ("/duplicates", "/boards", "/collections"):
        _visit(atlas, path, ".navbar", path.strip("/"))


@pytest.mark.parametrize(
    "path, text",
    [
        ("/item/0123456789abcdef", "No item"),
        ("/item/..%2F..%2Fetc%2Fpasswd", "No item"),
        ("/clusters?cluster=999", "No cluster"),
        ("/clusters?cluster=abc", "No cluster"),
        ("/no-such-page", "No page"),
    ],
)
def test_unknown_ids_show_not_found(atlas, path: str, text: str) -> None:
    atlas.wait_for_page(url=atlas.server_url + path)
    atlas.wait_for_contains_text("#" + ids.NOT_FOUND, text, timeout=20)
    assert console_errors(atlas) == []


def test_missing_workspace_says_what_to_run(dash_duo, tmp_path, monkeypatch) -> None:
    from app import app

    monkeypatch.setenv("STYLE_ATLAS_WORKSPACE", str(tmp_path / "nothing-here"))
    dash_duo.start_server(app)
    dash_duo.wait_for_contains_text("#" + ids.OVERVIEW_EMPTY, "python -m core run --workspace", timeout=20)
    screenshot(dash_duo, "overview-missing-workspace")
    assert console_errors(dash_duo) == []


def test_build_banner_follows_a_first_start_build(dash_duo, tmp_path, monkeypatch) -> None:
    """While the demo is built by a job the pages say so, with the step and its progress, and
    the banner announces the end of the build."""
    import os
    import time

    import core.jobs as jobs
    from app import app

    ws = tmp_path / "demo"
    monkeypatch.setenv("STYLE_ATLAS_WORKSPACE", str(ws))
    store = jobs.JobStore()
    job = store.insert(ws, "build", {})
    store.claim_next(ws, os.getpid())  # this process stands in for the worker
    started = time.time() - 42
    store.update(job.id, step="embed efficientnet-lite0", done=540, total=1791, steps_done=["ingest"],
                 started=started, heartbeat=time.time() + 600)
    dash_duo.start_server(app)
    dash_duo.wait_for_contains_text("#" + ids.BUILD_STEP, "embed efficientnet-lite0 — 540 / 1,791", timeout=20)
    assert "Done: ingest." in dash_duo.find_element("#" + ids.BUILD_STATE_BUILDING).text
    dash_duo.wait_for_contains_text("#" + ids.OVERVIEW_EMPTY, "being built", timeout=20)  # not "run this command"
    dash_duo.wait_for_page(url=dash_duo.server_url + "/explore")
    dash_duo.wait_for_contains_text("#" + ids.EMPTY_BUILD_NOTE, "The build under way computes it", timeout=20)
    screenshot(dash_duo, "build-banner")
    store.update(job.id, state="done", steps_done=["ingest", "embed efficientnet-lite0"])
    dash_duo.wait_for_contains_text("#" + ids.BUILD_STATE_DONE, "The demo catalog is ready", timeout=20)
    assert console_errors(dash_duo) == []


@pytest.mark.backbone
@pytest.mark.umap
def test_an_interrupted_build_resumes_from_the_banner(dash_duo, small_workspace, demo_subset_csv, tmp_path,
                                                      monkeypatch) -> None:
    """A server stopped mid-build leaves an interrupted build job: the banner says so, and its
    button resumes it in a worker process on the same catalog until every page has its data."""
    import shutil
    import subprocess
    import sys

    import core.jobs as jobs
    from app import app
    from components.bootstrap import missing_artifacts
    from core.workspace import Workspace

    root = tmp_path / "demo"
    shutil.copytree(small_workspace.root, root)
    Workspace.open(root).remove_artifact("projection/default")  # stopped before the map
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store = jobs.JobStore()
    job = store.insert(root, "build", {"source": str(demo_subset_csv)})
    store.claim_next(root, gone.pid)
    store.update(job.id, step="map of features (UMAP)", steps_done=["ingest", "embed efficientnet-lite0"])
    monkeypatch.setenv("STYLE_ATLAS_WORKSPACE", str(root))
    dash_duo.start_server(app)
    dash_duo.wait_for_contains_text("#" + ids.BUILD_STATE_FAILED, "stopped before it finished", timeout=20)
    dash_duo.find_element("#" + ids.BUILD_RESUME).click()
    dash_duo.wait_for_element("#" + ids.BUILD_STATE_BUILDING, timeout=20)
    dash_duo.wait_for_contains_text("#" + ids.BUILD_STATE_DONE, "The demo catalog is ready", timeout=300)
    assert missing_artifacts(root) == []
    done = jobs.get(job.id)
    assert done is not None and done.state == "done" and done.params["source"] == str(demo_subset_csv)
    assert done.attempt == 2 and "map of features (UMAP)" in done.steps_done
    assert console_errors(dash_duo) == []
