"""The app object: pages registered, navbar from the registry, image route, gunicorn entry point."""

from __future__ import annotations

import dash
import pytest


def test_app_registers_pages_and_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    import app as app_module

    assert app_module.server is app_module.app.server
    paths = {p["path"] for p in dash.page_registry.values()}
    assert {"/", "/explore", "/clusters", "/training", "/search"} <= paths
    templates = {p.get("path_template") for p in dash.page_registry.values()}
    assert "/item/<item_id>" in templates
    rules = {r.rule for r in app_module.server.url_map.iter_rules()}
    assert "/img/<kind>/<item_id>" in rules
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert isinstance(app_module.background_manager(), dash.DiskcacheManager)


def test_navbar_lists_pages_in_order() -> None:
    from components.ui import navbar

    pages = [
        {"name": "B", "relative_path": "/b", "module": "pages.b", "nav_order": 2},
        {"name": "A", "relative_path": "/", "module": "pages.a", "nav_order": 0},
        {"name": "Item", "relative_path": "/item/x", "module": "pages.item"},
    ]
    bar = navbar(pages)
    links = bar.children.children[2].children.children
    assert [link.children.children for link in links] == ["A", "B"]


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from components import settings

    monkeypatch.setenv("STYLE_ATLAS_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("STYLE_ATLAS_MAX_UPLOAD_MB", "2")
    assert settings.workspace_path() == tmp_path
    assert settings.port() == 9123 and settings.host() == "127.0.0.1"
    assert settings.max_upload_bytes() == 2 * 1024 * 1024
    monkeypatch.delenv("STYLE_ATLAS_WORKSPACE")
    assert settings.workspace_path() == settings.DEFAULT_WORKSPACE


def test_a_body_over_the_upload_cap_is_refused_before_it_is_parsed() -> None:
    """A 25 MiB callback body (the upload cap is 10 MB) answers 413 from Flask; a body that an
    upload at the cap makes (base64 + JSON) still gets through to Dash."""
    import json

    import app as app_module
    from components.settings import max_request_bytes, max_upload_bytes

    client = app_module.server.test_client()
    huge = b'{"output": "x", "inputs": [], "blob": "' + b"A" * (25 * 2**20) + b'"}'
    answer = client.post("/_dash-update-component", data=huge, content_type="application/json")
    assert answer.status_code == 413
    assert app_module.server.config["MAX_CONTENT_LENGTH"] == max_request_bytes()
    at_cap = json.dumps({"output": "x", "inputs": [], "blob": "A" * (max_upload_bytes() * 4 // 3)})
    assert len(at_cap) < max_request_bytes()
    answer = client.post("/_dash-update-component", data=at_cap, content_type="application/json")
    assert answer.status_code != 413
    # the editor's import on the Collections page may be larger (STYLE_ATLAS_MAX_IMPORT_MB)
    answer = client.post("/_dash-update-component", data=huge, content_type="application/json",
                         headers={"Referer": "http://localhost/collections?c=demo"})
    assert answer.status_code != 413
