"""The collection of the current request, and links that keep it (``?c=<slug>``).

Every page URL names its collection in the query string, so a shared link opens the same
collection and view. The server reads the slug from the request's own ``c`` argument (a page
load, an image) or, for a Dash callback, from the page URL the browser sends as its Referer
(same origin: the full URL, ``Referrer-Policy: strict-origin-when-cross-origin``). The slug is
only looked up among the collections (:mod:`core.collections`), never used as a path.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from core import collections

PARAM = "c"


def _request_slug() -> str | None:
    """The ``c`` of this request or of the page that sent it; None outside a request or when absent."""
    from flask import has_request_context, request

    if not has_request_context():
        return None
    value = request.args.get(PARAM)
    if value is None:
        referer = request.headers.get("Referer", "")
        values = parse_qs(urlsplit(referer).query).get(PARAM) if referer else None
        value = values[0] if values else None
    return value[:100] if value else None


def current_slug() -> str | None:
    """The collection the visitor is looking at (None: the default one, or the single workspace)."""
    if collections.single_workspace() is not None:
        return None
    return _request_slug()


def shown_slug() -> str | None:
    """The slug the pages show: the request's, else the default collection's."""
    if collections.single_workspace() is not None:
        return None
    return current_slug() or collections.default_slug()


def with_collection(href: str, slug: str | None = None) -> str:
    """``href`` with ``?c=<slug>`` (the current collection unless given); unchanged when the app
    serves one workspace (``STYLE_ATLAS_WORKSPACE``) or for links off the site."""
    if collections.single_workspace() is not None or "://" in href or href.startswith("#"):
        return href
    slug = slug or shown_slug()
    if not slug:
        return href
    parts = urlsplit(href)
    query = [(k, v) for k, vs in parse_qs(parts.query, keep_blank_values=True).items() if k != PARAM for v in vs]
    query.append((PARAM, slug))
    return urlunsplit(("", "", parts.path or "/", urlencode(query), parts.fragment))
