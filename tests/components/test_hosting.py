"""Security headers on every response; a damaged manifest or a locked/full annotations database
shows a message in the page (or a 503 text on /img), never a blank 500."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from components.hosting import SECURITY_HEADERS
from core import sqlite_store
from core.errors import StorageError
from core.workspace import Workspace
from tests.components.callbacks import client, render_page, text
from tests.components.test_roles import _rename


@pytest.mark.parametrize("url", ["/", "/explore", "/_dash-layout", "/img/thumb/0123456789abcdef", "/nope/x"])
def test_security_headers_on_every_response(tiny_ws: Workspace, url: str) -> None:
    answer = client().get(url)
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, (url, name)


def test_a_damaged_manifest_shows_an_alert_not_a_500(tiny_ws: Workspace) -> None:
    item_id = tiny_ws.items()["item_id"].iloc[0]
    manifest = Path(tiny_ws.root) / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])  # truncated mid-write by hand
    c = client()
    for page in ("/", "/explore", "/clusters", "/search", f"/item/{item_id}"):
        answer = render_page(c, page)
        assert answer.status_code == 200, page
        assert "app-alert" in text(answer) and "manifest is damaged" in text(answer), page
    image = c.get(f"/img/thumb/{item_id}")
    assert image.status_code == 503 and "manifest is damaged" in text(image)


def test_a_locked_database_shows_an_alert(tiny_clustered_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_S", 0.2)
    c = client()
    render_page(c, "/clusters")  # creates the database
    holder = sqlite3.connect(tiny_clustered_ws.annotations_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        saved = _rename(c, 0, "While locked")
        assert saved.status_code == 200 and "busy with another writer" in text(saved)
        page = render_page(c, "/clusters")  # WAL: readers go on while a writer holds the lock
        assert page.status_code == 200 and "page-clusters" in text(page) and "app-alert" not in text(page)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "Saved." in text(_rename(c, 0, "After the lock"))


def test_a_full_disk_is_named(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "a.sqlite")
    con.execute("PRAGMA max_page_count=2")
    with pytest.raises(sqlite3.OperationalError) as caught:
        con.execute("CREATE TABLE t(x)")
        con.executemany("INSERT INTO t VALUES (?)", [("x" * 4000,)] * 10)
    error = sqlite_store.storage_error(caught.value, tmp_path / "a.sqlite")
    assert isinstance(error, StorageError) and "is full" in str(error) and str(tmp_path) not in str(error)
