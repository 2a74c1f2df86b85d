"""Browser tests: the real app in headless Chromium (Debian's chromium + chromium-driver).

The app runs on a copy of the session's small real workspace (``small_workspace`` from
tests/conftest.py: ~110 demo photos through the pipeline with real lite0 features), so tests
may write annotations. Every test saves a screenshot to tests/screenshots/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.workspace import Workspace

os.environ.setdefault("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"


@pytest.fixture(scope="session")
def browser_workspace(small_workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A private copy of the small workspace with its 2-D map."""
    root = tmp_path_factory.mktemp("browser") / "ws"
    shutil.copytree(small_workspace.root, root)
    ws = Workspace.open(root)
    # steps the pipeline may not chain yet: run them here so every page has its data
    if not ws.has("projection/default"):
        from core.projection import project_workspace

        project_workspace(ws)
    if not ws.has("similarity/default"):
        from core.similarity.step import train_similarity

        train_similarity(ws)
    return ws


@pytest.fixture()
def app_workspace(browser_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """The app reads ``STYLE_ATLAS_WORKSPACE`` on every request: point it at the copy."""
    monkeypatch.setenv("STYLE_ATLAS_WORKSPACE", str(browser_workspace.root))
    yield browser_workspace


@pytest.fixture()
def atlas(dash_duo, app_workspace: Workspace, request: pytest.FixtureRequest):
    """``dash_duo`` serving the Style Atlas app on the test workspace.

    The last view of each test is saved as tests/screenshots/last-<test>.png (for failures).
    """
    from app import app

    dash_duo.start_server(app)
    yield dash_duo
    try:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        dash_duo.driver.save_screenshot(str(SCREENSHOTS / f"last-{request.node.name}.png"))
    except Exception:  # noqa: BLE001 - a screenshot must not turn a pass into an error
        pass


def screenshot(duo, name: str) -> Path:
    """Save a PNG of the current page to tests/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    duo.driver.set_window_size(1400, 1000)
    duo.driver.save_screenshot(str(path))
    return path


def console_errors(duo) -> list[dict]:
    """SEVERE browser console entries (dash_duo keeps only those)."""
    return [e for e in duo.get_logs() or [] if e.get("level") == "SEVERE"]
