"""Export downloads, streamed from Flask routes as they are made.

- ``GET /export/board/<id>.<fmt>``, ``/export/tag/<tag>.<fmt>``, ``/export/cluster/<n>.<fmt>``;
- ``POST /export/list.<fmt>`` with form fields ``ids`` (comma-separated item ids), ``kind``
  (``tray`` or ``results``), ``title`` and optional ``scores`` (comma-separated, aligned with
  ``ids``): a tray or a result list, which only the browser holds.

Nothing from the request is trusted: the format is one of ``core.export.FORMATS``, sizes are
checked before any work (``MAX_EXPORT_ITEMS``; the body is capped by Flask's
``MAX_CONTENT_LENGTH``), ids are checked against the catalog, and a board is read through the
visitor's own view (shared boards, and a viewer's scratch boards only for them). Exports count
against the ``export`` rate limit (``STYLE_ATLAS_EXPORT_LIMIT``). A bad request answers 400 with
one line of text; the body streams (``stream_with_context``), one image at a time for a ZIP.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Flask, Response, request, stream_with_context

from components import auth, ratelimit, settings
from components.data import open_workspace
from components.links import with_collection
from core import export
from core.annotations import MAX_TAG_LEN
from core.errors import StyleAtlasError

MAX_TITLE_LEN = 80
ID_CHARS = 17  # an item id and its comma


# every URL keeps the visitor's collection (?c=<slug>): the route opens that collection's workspace
def board_url(board_id: int, fmt: str) -> str:
    return with_collection(f"/export/board/{int(board_id)}.{fmt}")


def tag_url(tag: str, fmt: str) -> str:
    return with_collection(f"/export/tag/{quote(tag, safe='')}.{fmt}")


def cluster_url(cluster: int, fmt: str) -> str:
    return with_collection(f"/export/cluster/{int(cluster)}.{fmt}")


LIST_URL = "/export/list.{fmt}"


def list_url(fmt: str) -> str:
    """Where the tray's or a result list's export form posts."""
    return with_collection(LIST_URL.format(fmt=fmt))


def _refuse(message: str, status: int = 400) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain")


def _send(ws: Any, selection: export.Selection, fmt: str) -> Response:
    chunks = export.stream(ws, selection, fmt)  # checks and builds the table before the first byte
    name = export.filename(selection, fmt)
    response = Response(stream_with_context(chunks), mimetype=export.MEDIA_TYPES[fmt])
    response.headers["Content-Disposition"] = f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _split(name: str) -> tuple[str, str]:
    stem, dot, fmt = name.rpartition(".")
    return (stem, fmt) if dot else (name, "")


def serve_export(kind: str, name: str) -> Response:
    """Flask view of ``/export/<kind>/<ident>.<fmt>``."""
    stem, fmt = _split(name)
    if fmt not in export.FORMATS:
        return _refuse(f"unknown export format; use one of: {', '.join(export.FORMATS)}", 404)
    if kind not in ("board", "tag", "cluster"):
        return _refuse("unknown export", 404)
    ws = open_workspace()
    if ws is None:
        return _refuse("the workspace is missing", 404)
    if not ratelimit.allow("export"):
        return _refuse(f"too many exports from your address ({settings.rate_limit('export')})", 429)
    try:
        if kind == "board":
            if not stem.isdigit() or len(stem) > 9:
                return _refuse("invalid board id", 404)
            selection = export.from_board(ws, int(stem), auth.scratch_id())
        elif kind == "tag":
            if len(stem) > MAX_TAG_LEN * 3:
                return _refuse("the tag is too long")
            selection = export.from_tag(ws, stem)
        else:
            selection = export.from_cluster(ws, stem)
        return _send(ws, selection, fmt)
    except StyleAtlasError as exc:
        return _refuse(str(exc))


def serve_list_export(fmt: str) -> Response:
    """Flask view of ``POST /export/list.<fmt>`` (a tray or a result list)."""
    if fmt not in export.FORMATS:
        return _refuse(f"unknown export format; use one of: {', '.join(export.FORMATS)}", 404)
    raw_ids = request.form.get("ids", "")
    if len(raw_ids) > export.MAX_EXPORT_ITEMS * ID_CHARS:
        return _refuse(f"an export takes at most {export.MAX_EXPORT_ITEMS} items")
    kind = request.form.get("kind", "tray")
    title = " ".join(request.form.get("title", "selection").split())[:MAX_TITLE_LEN] or "selection"
    ids = [i.strip() for i in raw_ids.split(",") if i.strip()]
    scores: dict[str, float] = {}
    raw_scores = request.form.get("scores", "")
    if raw_scores and len(raw_scores) <= export.MAX_EXPORT_ITEMS * 24:
        try:
            values = [float(s) for s in raw_scores.split(",")]
        except ValueError:
            return _refuse("scores must be numbers")
        if len(values) == len(ids):
            scores = dict(zip(ids, values, strict=True))
    ws = open_workspace()
    if ws is None:
        return _refuse("the workspace is missing", 404)
    if not ratelimit.allow("export"):
        return _refuse(f"too many exports from your address ({settings.rate_limit('export')})", 429)
    try:
        return _send(ws, export.from_ids(ws, ids, kind, title, scores), fmt)
    except StyleAtlasError as exc:
        return _refuse(str(exc))


def register_export_routes(server: Flask) -> None:
    """Add the export routes to the app's Flask server."""
    server.add_url_rule("/export/<kind>/<path:name>", "export_named", serve_export, methods=["GET"])
    server.add_url_rule("/export/list.<fmt>", "export_list", serve_list_export, methods=["POST"])
