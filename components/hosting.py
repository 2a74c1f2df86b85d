"""What a server facing the internet needs around the pages: security headers on every
response, errors shown as messages (never a blank 500), and the roles and limits wired in.

:func:`init_hosting` is called once by ``app.create_app``; :func:`callback_error` is Dash's
``on_error``: a failed callback (a damaged manifest, a locked or full annotations database, a
bug) puts an alert in the page's ``app-alert`` slot instead of answering 500.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from components import ids, settings
from components.auth import check_hosted_config, init_auth
from components.ratelimit import create_limiter
from components.signin import register_signin_routes
from core.errors import StyleAtlasError, WorkspaceError

ALERT_ID = "app-alert"
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
}
log = logging.getLogger("style_atlas")


def add_security_headers(response: Response) -> Response:
    """Every response: no framing (clickjacking), no MIME sniffing, no full referrer abroad."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def error_message(exc: BaseException) -> str:
    """What a visitor reads about ``exc`` (no file paths in hosted mode; details go to the log)."""
    if isinstance(exc, WorkspaceError):
        detail = "" if settings.hosted() else f" ({exc})"
        return ("The catalog cannot be read right now: its manifest is damaged or incomplete" + detail
                + ". An editor rebuilds it with `python -m core run`; the server log has details.")
    if isinstance(exc, StyleAtlasError):
        return str(exc)[:1].upper() + str(exc)[1:]
    if isinstance(exc, sqlite3.Error):
        return "The annotations database cannot be used right now; nothing was saved. Try again in a moment."
    return "Something went wrong on the server; the server log has details."


def _log(exc: BaseException) -> None:
    if isinstance(exc, StyleAtlasError):
        log.warning("%s: %s", type(exc).__name__, exc)
    else:
        log.error("unexpected error", exc_info=exc)


def callback_error(exc: Exception) -> None:
    """Dash ``on_error``: show the error as an alert at the top of the page; outputs unchanged."""
    import dash
    import dash_bootstrap_components as dbc

    _log(exc)
    dash.set_props(ALERT_ID, {"children": dbc.Alert(error_message(exc), color="danger", dismissable=True,
                                                     id=ids.APP_ALERT_MESSAGE, class_name="mt-3 mb-0")})


def _plain_error(exc: Exception) -> tuple[str, int, dict[str, str]]:
    """Flask routes outside Dash (``/img``): a short text with 503 instead of a blank 500."""
    _log(exc)
    return error_message(exc), 503, {"Content-Type": "text/plain; charset=utf-8", "Retry-After": "30"}


def _editor_request_cap() -> None:
    """An editor's callbacks from the Collections page may carry an import
    (``STYLE_ATLAS_MAX_IMPORT_MB``); every other request keeps the upload cap
    (``MAX_CONTENT_LENGTH``). Either is checked before the body is read."""
    from urllib.parse import urlsplit

    from flask import request

    from components.auth import is_editor

    if request.method != "POST" or not request.path.endswith("/_dash-update-component"):
        return
    if urlsplit(request.headers.get("Referer", "")).path == settings.COLLECTIONS_PAGE and is_editor():
        request.max_content_length = settings.max_import_request_bytes()


def alert_slot() -> Any:
    """The page-wide slot :func:`callback_error` fills."""
    from dash import html

    return html.Div(id=ALERT_ID)


def init_hosting(server: Flask) -> None:
    """Refuse a half-configured hosted mode (ConfigurationError), then add sessions and
    sign-in, the rate limiter, security headers and the error handlers to ``server``."""
    check_hosted_config()
    if settings.proxy_hops():
        hops = settings.proxy_hops()
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    init_auth(server)
    register_signin_routes(server, create_limiter(server))
    server.before_request(_editor_request_cap)
    server.after_request(add_security_headers)
    server.register_error_handler(StyleAtlasError, _plain_error)
    server.register_error_handler(sqlite3.Error, _plain_error)
