"""Settings of the web app, read from environment variables on every call."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKSPACE = REPO / "workspaces" / "demo"
DEFAULT_MAX_UPLOAD_MB = 10.0


def workspace_path() -> Path:
    """The workspace the app shows: ``STYLE_ATLAS_WORKSPACE`` or ``workspaces/demo``."""
    env = os.environ.get("STYLE_ATLAS_WORKSPACE", "").strip()
    return Path(env).expanduser().absolute() if env else DEFAULT_WORKSPACE


def max_upload_bytes() -> int:
    """Largest accepted upload (``STYLE_ATLAS_MAX_UPLOAD_MB``, default 10 MB)."""
    try:
        mb = float(os.environ.get("STYLE_ATLAS_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB))
    except ValueError:
        mb = DEFAULT_MAX_UPLOAD_MB
    return int(max(mb, 0.1) * 1024 * 1024)


def host() -> str:
    """Interface ``python app.py`` binds (``HOST``, default 127.0.0.1)."""
    return os.environ.get("HOST", "127.0.0.1")


def port() -> int:
    """Port ``python app.py`` serves on (``PORT``, default 8050)."""
    try:
        return int(os.environ.get("PORT", "8050"))
    except ValueError:
        return 8050
