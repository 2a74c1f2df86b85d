"""The Flask route serving item images: ``/img/<kind>/<item_id>``.

It takes an item id only, never a path: the id must match ``^[0-9a-f]{16}$`` and be in the
catalog; the file is then the workspace's own thumbnail or normalised image of that id.
Images are content-addressed (the id is a hash of the bytes), so responses are cached as
immutable.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, abort, send_file

from components.data import catalog, is_item_id, open_workspace
from components.links import with_collection

KINDS = ("thumb", "full")
CACHE_SECONDS = 365 * 24 * 3600


def thumb_url(item_id: str) -> str:
    """URL of an item's thumbnail."""
    return with_collection(f"/img/thumb/{item_id}")


def full_url(item_id: str) -> str:
    """URL of an item's full-size image."""
    return with_collection(f"/img/full/{item_id}")


def resolve_image(kind: str, item_id: str, workspace: str | Path | None = None) -> Path | None:
    """The file to serve for ``(kind, item_id)``, or None when the request is not valid.

    None when the kind is unknown, the id malformed or not in the catalog, or the file absent.
    """
    if kind not in KINDS or not is_item_id(item_id):
        return None
    ws = open_workspace(workspace)
    if ws is None or item_id not in catalog(ws):
        return None
    path = ws.thumb_path(item_id) if kind == "thumb" else ws.image_path(item_id)
    if kind == "thumb" and not path.is_file():
        path = ws.image_path(item_id)
    return path if path.is_file() else None


def serve_image(kind: str, item_id: str) -> Response:
    """Flask view: the image with long-lived cache headers, or 404."""
    path = resolve_image(kind, item_id)
    if path is None:
        abort(404)
    response = send_file(path, mimetype="image/jpeg", conditional=True, etag=True, max_age=CACHE_SECONDS)
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def register_image_route(server: Flask) -> None:
    """Add ``/img/<kind>/<item_id>`` to the app's Flask server."""
    server.add_url_rule("/img/<kind>/<item_id>", "item_image", serve_image, methods=["GET"])
