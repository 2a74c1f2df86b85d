"""The sign-in and sign-out Flask routes behind the ``/signin`` page (``pages/signin.py``).

``POST /auth/signin`` (form fields ``username``, ``password``, ``next``) checks the werkzeug
hash of :func:`components.auth.load_editors`, rate limited per client (429 past
``STYLE_ATLAS_SIGNIN_LIMIT``); ``POST /auth/signout`` ends the editor's session and keeps the
visitor's scratch space.
"""

from __future__ import annotations

import secrets
from functools import cache
from urllib.parse import quote

from flask import Flask, Response, redirect, request, session
from flask_limiter import Limiter
from flask_login import login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from components import settings
from components.auth import Editor, load_editors

SIGNIN_PAGE = "/signin"
SIGNIN_ROUTE = "/auth/signin"
SIGNOUT_ROUTE = "/auth/signout"


def safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else ``/`` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@cache
def _dummy_hash() -> str:
    """A hash of the default method, checked when the name is unknown."""
    return generate_password_hash(secrets.token_hex(16))


def check_credentials(username: str, password: str) -> bool:
    """Whether ``username`` is an editor whose hash matches ``password`` (an unknown name
    costs a hash check too, so timing does not tell names apart)."""
    editors = load_editors()
    hashed = editors.get(username)
    ok = check_password_hash(hashed or _dummy_hash(), password)
    return hashed is not None and ok


def sign_in() -> Response:
    """Form POST: sign the editor in and go back to ``next``; else back to the form."""
    target = safe_next(request.form.get("next"))
    if not settings.hosted():
        return redirect(target)  # type: ignore[return-value]
    username = request.form.get("username", "").strip()
    if not check_credentials(username, request.form.get("password", "")):
        return redirect(f"{SIGNIN_PAGE}?error=1&next={quote(target)}")  # type: ignore[return-value]
    login_user(Editor(username))
    session.permanent = True
    return redirect(target)  # type: ignore[return-value]


def sign_out() -> Response:
    """Form POST: end the editor's session (the scratch id stays)."""
    logout_user()
    return redirect("/")  # type: ignore[return-value]


def register_signin_routes(server: Flask, limiter: Limiter) -> None:
    """Add the two routes; sign-in is limited per client by ``settings.rate_limit("signin")``."""
    view = limiter.limit(lambda: settings.rate_limit("signin"), methods=["POST"])(sign_in)
    server.add_url_rule(SIGNIN_ROUTE, "auth_signin", view, methods=["POST"])
    server.add_url_rule(SIGNOUT_ROUTE, "auth_signout", sign_out, methods=["POST"])
