"""Per-client rate limits (Flask-Limiter): sign-in, query uploads and URLs, scratch writes.

The counters live in memory (one per process) or in Redis when ``REDIS_URL`` is set, so every
worker counts together. The client is the remote address (behind a proxy, set
``STYLE_ATLAS_PROXY_HOPS`` so it is the visitor's, from X-Forwarded-For). Sign-in is limited on
its Flask route (429); a callback asks :func:`allow` and shows a message instead.
"""

from __future__ import annotations

import os

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many

from components import settings

EXTENSION = "style_atlas_limiter"


def create_limiter(server: Flask) -> Limiter:
    """The app's limiter, registered on ``server`` (no default limits: each use names its own)."""
    storage = os.environ.get("REDIS_URL") or "memory://"
    limiter = Limiter(get_remote_address, app=server, storage_uri=storage, default_limits=[],
                      key_prefix="style-atlas", headers_enabled=True)
    server.extensions[EXTENSION] = limiter
    return limiter


def allow(kind: str) -> bool:
    """Count one ``kind`` action (``query``, ``scratch``) of this request's client; False when
    that would exceed ``settings.rate_limit(kind)`` (then nothing is counted)."""
    limiter: Limiter = current_app.extensions[EXTENSION]
    items = parse_many(settings.rate_limit(kind))
    client = get_remote_address()
    if not all(limiter.limiter.test(item, kind, client) for item in items):
        return False
    return all([limiter.limiter.hit(item, kind, client) for item in items])


def refusal(kind: str) -> str | None:
    """None when :func:`allow` lets the action through, else the message to show."""
    if allow(kind):
        return None
    return f"Too many requests from your address ({settings.rate_limit(kind)}); try again in a minute."
