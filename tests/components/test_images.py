"""The image route takes an item id only, checks it against the catalog, sets cache headers."""

from __future__ import annotations

import pytest
from flask import Flask

from components.images import full_url, register_image_route, resolve_image, thumb_url
from core.workspace import Workspace


@pytest.fixture()
def client(tiny_ws: Workspace):
    server = Flask(__name__)
    register_image_route(server)
    return server.test_client()


def test_thumbnail_and_full_image_are_served(client, tiny_ws: Workspace) -> None:
    item_id = tiny_ws.items()["item_id"].iloc[0]
    thumb = client.get(thumb_url(item_id))
    assert thumb.status_code == 200
    assert thumb.mimetype == "image/jpeg"
    assert thumb.data == tiny_ws.thumb_path(item_id).read_bytes()
    assert "immutable" in thumb.headers["Cache-Control"]
    assert "max-age=31536000" in thumb.headers["Cache-Control"]
    assert thumb.headers.get("ETag")
    full = client.get(full_url(item_id))
    assert full.status_code == 200 and full.data == tiny_ws.image_path(item_id).read_bytes()


def test_conditional_request_gets_304(client, tiny_ws: Workspace) -> None:
    item_id = tiny_ws.items()["item_id"].iloc[0]
    etag = client.get(thumb_url(item_id)).headers["ETag"]
    again = client.get(thumb_url(item_id), headers={"If-None-Match": etag})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "url",
    [
        "/img/thumb/0123456789abcdef",  # well-formed, not in the catalog
        "/img/thumb/../../manifest.json",
        "/img/thumb/..%2F..%2Fmanifest.json",
        "/img/thumb/ABCDEF0123456789",  # upper case is not an id
        "/img/thumb/0123456789abcde",  # 15 chars
        "/img/original/0123456789abcdef",  # unknown kind
        "/img/thumb/%2Fetc%2Fpasswd",
    ],
)
def test_anything_but_a_catalog_id_is_404(client, url: str) -> None:
    assert client.get(url).status_code == 404


def test_resolve_never_leaves_the_workspace(tiny_ws: Workspace) -> None:
    item_id = tiny_ws.items()["item_id"].iloc[0]
    assert resolve_image("thumb", item_id) == tiny_ws.thumb_path(item_id)
    assert resolve_image("thumb", "../" + item_id) is None
    assert resolve_image("full", item_id[:-1] + "/") is None


def test_missing_workspace_gives_404(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STYLE_ATLAS_WORKSPACE", str(tmp_path / "nowhere"))
    server = Flask(__name__)
    register_image_route(server)
    assert server.test_client().get("/img/thumb/0123456789abcdef").status_code == 404
