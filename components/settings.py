"""Settings of the web app, read from environment variables on every call."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKSPACE = REPO / "workspaces" / "demo"
DEFAULT_MAX_UPLOAD_MB = 10.0
REQUEST_OVERHEAD_BYTES = 2**20  # a callback's JSON around the largest upload
COLLECTIONS_PAGE = "/collections"  # the page whose editor callbacks may carry an import


def workspace_path() -> Path:
    """The workspace the app shows: ``STYLE_ATLAS_WORKSPACE`` when set (one collection), else the
    collection the page URL names (``?c=<slug>``, :mod:`components.links`) in
    ``STYLE_ATLAS_HOME``, else the default one (``workspaces/demo``). A malformed slug names a
    folder that does not exist, so the page says there is no such workspace."""
    from components.links import current_slug
    from core import collections
    from core.errors import InvalidInputError

    try:
        return collections.folder_for(current_slug())
    except InvalidInputError:
        return collections.home() / ".no-such-collection"


def max_upload_bytes() -> int:
    """Largest accepted upload (``STYLE_ATLAS_MAX_UPLOAD_MB``, default 10 MB)."""
    try:
        mb = float(os.environ.get("STYLE_ATLAS_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB))
    except ValueError:
        mb = DEFAULT_MAX_UPLOAD_MB
    return int(max(mb, 0.1) * 1024 * 1024)


DEFAULT_MAX_IMPORT_MB = 100.0


def max_import_bytes() -> int:
    """Largest import from the browser, all files together (``STYLE_ATLAS_MAX_IMPORT_MB``, default 100 MB)."""
    try:
        mb = float(os.environ.get("STYLE_ATLAS_MAX_IMPORT_MB", DEFAULT_MAX_IMPORT_MB))
    except ValueError:
        mb = DEFAULT_MAX_IMPORT_MB
    return int(max(mb, 0.1) * 1024 * 1024)


def max_import_request_bytes() -> int:
    """The request cap of an editor's requests (an import, base64 in a callback's JSON)."""
    return max(max_import_bytes(), max_upload_bytes()) * 4 // 3 + REQUEST_OVERHEAD_BYTES


def max_request_bytes() -> int:
    """Largest request body the server reads (Flask's ``MAX_CONTENT_LENGTH``; larger ones answer
    413 before they are parsed): an upload at the cap, base64-encoded in a callback's JSON, plus
    room for the rest of the callback."""
    return max_upload_bytes() * 4 // 3 + REQUEST_OVERHEAD_BYTES


def host() -> str:
    """Interface ``python app.py`` binds (``HOST``, default 127.0.0.1)."""
    return os.environ.get("HOST", "127.0.0.1")


def port() -> int:
    """Port ``python app.py`` serves on (``PORT``, default 8050)."""
    try:
        return int(os.environ.get("PORT", "8050"))
    except ValueError:
        return 8050


# -- hosted mode (components.auth) ---------------------------------------------------------
DEFAULT_SIGNIN_LIMIT = "5 per minute;30 per hour"
DEFAULT_QUERY_LIMIT = "20 per minute"
DEFAULT_SCRATCH_LIMIT = "30 per minute"
DEFAULT_EXPORT_LIMIT = "20 per minute"


def editors_setting() -> str:
    """``STYLE_ATLAS_EDITORS``: ``name:hash,...`` or a users file; set, it turns hosted mode on."""
    return os.environ.get("STYLE_ATLAS_EDITORS", "").strip()


def hosted() -> bool:
    """Hosted mode: visitors are viewers unless they sign in as an editor."""
    return bool(editors_setting())


def secret_key() -> str:
    """``SECRET_KEY``, which signs the session cookies (required in hosted mode)."""
    return os.environ.get("SECRET_KEY", "")


def debug_enabled() -> bool:
    """``DASH_DEBUG=1`` turns Dash's debug mode on for ``python app.py``, never in hosted mode."""
    return os.environ.get("DASH_DEBUG", "") == "1" and not hosted()


def rate_limit(kind: str) -> str:
    """The per-client limit of ``kind`` (``signin``, ``query``, ``scratch``, ``export``) in
    Flask-Limiter's notation, from ``STYLE_ATLAS_<KIND>_LIMIT`` or the default."""
    default = {"signin": DEFAULT_SIGNIN_LIMIT, "query": DEFAULT_QUERY_LIMIT, "scratch": DEFAULT_SCRATCH_LIMIT,
               "export": DEFAULT_EXPORT_LIMIT}[kind]
    return os.environ.get(f"STYLE_ATLAS_{kind.upper()}_LIMIT", "").strip() or default


def proxy_hops() -> int:
    """``STYLE_ATLAS_PROXY_HOPS``: how many proxies in front set X-Forwarded-For (1 on Heroku, Render)."""
    try:
        return max(int(os.environ.get("STYLE_ATLAS_PROXY_HOPS", "0")), 0)
    except ValueError:
        return 0
