"""Collections in the app: the URL's ``?c=`` picks the workspace (page loads, callbacks through
their Referer, images), links keep it, and the Collections page's writes are editor-only."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from components import collection_admin, settings
from components.links import with_collection
from core import collections
from core.errors import InvalidInputError
from core.workspace import Workspace
from tests.components.callbacks import client, enable_hosted, post_callback, render_page, sign_in, text


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(collections.HOME_ENV, str(tmp_path / "home"))
    monkeypatch.delenv(collections.WORKSPACE_ENV, raising=False)
    Workspace(tmp_path / "home" / "demo")
    collections.create("Summer 2025", "new season")
    return tmp_path / "home"


def test_the_url_names_the_collection_for_pages_callbacks_and_images(home: Path) -> None:
    from app import server

    with server.test_request_context("/explore?c=summer-2025"):
        assert settings.workspace_path() == home / "summer-2025"
        assert with_collection("/item/abc") == "/item/abc?c=summer-2025"
        assert with_collection("/search?item=x&c=demo") == "/search?item=x&c=summer-2025"
    with server.test_request_context("/_dash-update-component", headers={"Referer": "http://h/clusters?cluster=2&c=summer-2025"}):
        assert settings.workspace_path() == home / "summer-2025"
    with server.test_request_context("/"):
        assert settings.workspace_path() == home / "demo"  # no c: the default (the demo)
        assert with_collection("/") == "/?c=demo"
    with server.test_request_context("/?c=../../etc"):
        assert not settings.workspace_path().exists()  # a malformed slug is never a path


def test_single_workspace_links_stay_as_they_were(tiny_ws: Workspace) -> None:
    from app import server

    with server.test_request_context("/explore?c=anything"):
        assert settings.workspace_path() == tiny_ws.root
        assert with_collection("/item/abc") == "/item/abc"


def test_navbar_switcher_lists_collections_with_links_that_keep_the_view(home: Path) -> None:
    c = client()
    page = text(c.get("/_dash-layout", headers={"Referer": "http://localhost/?c=summer-2025"})).replace("\\u002f", "/")
    assert "Summer 2025" in page and "/?c=demo" in page and "/collections?c=summer-2025" in page
    assert "/explore?c=summer-2025" in page  # every navbar link carries the collection


def test_decode_uploads_checks_the_total_before_decoding() -> None:
    data = "data:image/jpeg;base64," + base64.b64encode(b"x" * 3000).decode()
    assert collection_admin.decode_uploads([data], ["a.jpg"], 10_000) == [("a.jpg", b"x" * 3000)]
    with pytest.raises(InvalidInputError, match="over the import cap"):
        collection_admin.decode_uploads([data] * 5, [f"{n}.jpg" for n in range(5)], 10_000)
    with pytest.raises(InvalidInputError, match="arrived damaged"):
        collection_admin.decode_uploads(["data:image/jpeg;base64,@@@"], ["a.jpg"], 10_000)


def _create(c, name: str):
    return post_callback(c, [("collection-message-slot", "children"), ("page-collections-nav", "href")],
                         [("collection-create", "n_clicks", 1)],
                         [("collection-create-name", "value", name), ("collection-create-description", "value", "")])


def _delete(c, slug: str, confirm: str):
    return c.post("/_dash-update-component", json=_payload(c, slug, confirm),
                  headers={"Referer": f"http://localhost/collections?c={slug}"})


def _payload(c, slug: str, confirm: str) -> dict:
    from tests.components.callbacks import callback_key

    return {"output": callback_key(["collection-delete"]),
            "outputs": [{"id": "collection-message-slot", "property": "children"},
                        {"id": "page-collections-nav", "property": "href"}],
            "inputs": [{"id": "collection-delete", "property": "n_clicks", "value": 1}],
            "state": [{"id": "collection-delete-confirm", "property": "value", "value": confirm}],
            "changedPropIds": ["collection-delete.n_clicks"]}


def test_collection_writes_are_editor_only_in_hosted_mode(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    enable_hosted(monkeypatch)
    viewer = client()
    answer = _create(viewer, "Forged")
    assert "Only an editor can create collections" in text(answer)
    assert "Only an editor can delete collections" in text(_delete(viewer, "summer-2025", "Summer 2025"))
    assert [c.slug for c in collections.list_collections()] == ["demo", "summer-2025"]
    editor = client()
    sign_in(editor)
    assert "Created \\u201cAutumn\\u201d" in text(_create(editor, "Autumn"))
    assert "a collection name cannot contain" in text(_create(editor, "a/../b"))
    assert "Deleted \\u201cSummer 2025\\u201d" in text(_delete(editor, "summer-2025", "Summer 2025"))
    assert [c.slug for c in collections.list_collections()] == ["autumn", "demo"]


def test_the_collections_page_shows_the_list_and_what_a_delete_removes(home: Path) -> None:
    c = client()
    page = text(render_page(c, "/collections", "?c=summer-2025"))
    assert "Summer 2025" in page and "summer-2025" in page and "removes 0 photos" in page


def test_navbar_highlights_the_page_shown_although_its_links_carry_the_collection(home: Path) -> None:
    from components.ui import active_links

    paths = ["/", "/explore", "/clusters", "/collections"]
    assert active_links(paths, "/explore") == [False, True, False, False]
    assert active_links(paths, "/") == [True, False, False, False]
    assert active_links(paths, "/clusters/") == [False, False, True, False]
    assert active_links(paths, "/item/abc") == [False] * 4
    c = client()
    outputs = [{"id": {"type": "nav-link", "path": p}, "property": "active"} for p in paths]  # one ALL output
    body = {"output": _nav_key(),
            "outputs": outputs, "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/clusters"}],
            "changedPropIds": ["_pages_location.pathname"]}
    answer = c.post("/_dash-update-component", json=body, headers={"Referer": "http://localhost/clusters?c=summer-2025"})
    assert answer.status_code == 200, text(answer)
    got = answer.get_json()["response"]
    assert [got[json.dumps({"path": p, "type": "nav-link"}, separators=(",", ":"))]["active"] for p in paths] == \
        [False, False, True, False]


def _nav_key() -> str:
    from app import app

    return next(k for k, spec in app.callback_map.items()
                if [i["id"] for i in spec["inputs"]] == ["_pages_location"] and "nav-link" in k)


def _rename(c, slug: str, name: str, description: str = ""):
    return post_callback(c, [("collection-message-slot", "children")], [("collection-rename", "n_clicks", 1)],
                         [("collection-rename-name", "value", name), ("collection-rename-description", "value", description)],
                         query=f"?c={slug}")


def test_rename_through_its_callback_keeps_the_slug_and_is_editor_only(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = text(_rename(client(), "summer-2025", "Summer '25 Looks", "the new season"))
    assert "Renamed to \\u201cSummer '25 Looks\\u201d (its links stay the same)" in answer
    renamed = collections.get("summer-2025")  # the slug, so every shared link, stays
    assert (renamed.name, renamed.description) == ("Summer '25 Looks", "the new season")
    assert "a collection name cannot contain" in text(_rename(client(), "summer-2025", "a/b"))
    enable_hosted(monkeypatch)
    assert "Only an editor can rename collections" in text(_rename(client(), "summer-2025", "Forged"))
    assert collections.get("summer-2025").name == "Summer '25 Looks"


def _import(c, slug: str, contents: list[str], names: list[str]):
    return post_callback(c, [("collection-message-slot", "children"), ("build-poll", "disabled")],
                         [("collection-import", "n_clicks", 1)],
                         [("collection-import-upload", "contents", contents), ("collection-import-upload", "filename", names),
                          ("collection-import-urls", "value", ""), ("collection-import-folder", "value", "")],
                         query=f"?c={slug}")


def test_the_import_button_stages_the_upload_and_queues_the_collections_import_job(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import zipfile

    import core.jobs as jobs
    from tests.core.jobs.test_jobs import wait_for
    from tests.core.test_importer import jpeg

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.jpg", jpeg((200, 10, 10)))
        zf.writestr("../evil.jpg", jpeg((10, 200, 10)))
    zipped = "data:application/zip;base64," + base64.b64encode(buf.getvalue()).decode()
    root = home / "summer-2025"
    enable_hosted(monkeypatch)
    assert "Only an editor can import photos" in text(_import(client(), "summer-2025", [zipped], ["s.zip"]))
    assert jobs.latest(root) is None and not (root / "staging").exists()
    editor = client()
    sign_in(editor)
    assert "choose photos, a ZIP" in text(_import(editor, "summer-2025", [], []))
    assert "Import staged; the job runs now" in text(_import(editor, "summer-2025", [zipped], ["s.zip"]))
    job = jobs.latest(root)
    assert job is not None and job.kind == "import" and Path(job.params["staged_dir"]).parent == root / "staging"
    jobs.cancel(job.id)  # the worker's building is not this test's business
    wait_for(job.id, ("cancelled", "done", "failed"), timeout=120)
