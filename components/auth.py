"""Roles: who may change what everyone sees (editors) and who only explores (viewers).

Hosted mode is on when ``STYLE_ATLAS_EDITORS`` names the editors: ``name:hash,...`` inline, or
the path of a users file with one ``name:hash`` per line (``#`` comments allowed). Each hash is
a werkzeug password hash (``python scripts/hash_password.py``), never a plain password. Then a
visitor is a viewer until they sign in (Flask-Login, session cookie signed with ``SECRET_KEY``).
Without it the app is local: its one user is the editor, as before.

Every write callback asks :func:`refusal` (or :func:`is_editor`) on the server. A viewer's tray
saves go to their scratch space instead (:func:`scratch_id`, :mod:`core.scratch`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, UserMixin, current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from components import settings
from core.errors import ConfigurationError
from core.scratch import SCRATCH_TTL_S, is_scratch_id, new_scratch_id

SESSION_COOKIE = "style_atlas_session"
SESSION_LIFETIME = timedelta(seconds=SCRATCH_TTL_S)
SCRATCH_KEY = "scratch"
MIN_SECRET_LEN = 16
HASH_METHODS = ("scrypt:", "pbkdf2:")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
HASH_HINT = "make one with `python scripts/hash_password.py`"


@dataclass(frozen=True)
class Editor(UserMixin):
    """A signed-in editor (Flask-Login user); ``name`` is the id kept in the session."""

    name: str

    def get_id(self) -> str:
        return self.name


def parse_editors(text: str, where: str = "STYLE_ATLAS_EDITORS") -> dict[str, str]:
    """``{name: werkzeug hash}`` from ``name:hash`` entries separated by commas or lines.

    Raises ConfigurationError naming the entry that is not ``name:hash`` with a werkzeug hash.
    """
    out: dict[str, str] = {}
    for n, entry in enumerate(re.split(r"[,\n]", text), start=1):
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        name, sep, hashed = entry.partition(":")
        name, hashed = name.strip(), hashed.strip()
        if not sep or not _NAME_RE.match(name):
            raise ConfigurationError(f"{where}: entry {n} is not `name:password-hash` (names: letters, digits, _ . @ -)")
        if not hashed.startswith(HASH_METHODS) or "$" not in hashed:
            raise ConfigurationError(f"{where}: the password of {name!r} is not a werkzeug password hash ({HASH_HINT})")
        out[name] = hashed
    return out


def load_editors() -> dict[str, str]:
    """The editors of ``STYLE_ATLAS_EDITORS`` (inline, or the users file it names); {} when unset."""
    raw = settings.editors_setting()
    if not raw:
        return {}
    if ":" not in raw:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"STYLE_ATLAS_EDITORS: no users file at {path}")
        return parse_editors(path.read_text(), where=str(path))
    return parse_editors(raw)


def check_hosted_config() -> None:
    """In hosted mode, refuse to start without editors or without a long ``SECRET_KEY``."""
    if not settings.hosted():
        return
    if not load_editors():
        raise ConfigurationError("STYLE_ATLAS_EDITORS is set but names no editor")
    if len(settings.secret_key()) < MIN_SECRET_LEN:
        raise ConfigurationError(
            "hosted mode (STYLE_ATLAS_EDITORS is set) needs SECRET_KEY, a random string of at least "
            f"{MIN_SECRET_LEN} characters: python -c 'import secrets; print(secrets.token_hex(32))'"
        )


class EnvSessionInterface(SecureCookieSessionInterface):
    """Signed session cookies keyed by ``SECRET_KEY`` as the environment says now; Secure in
    hosted mode. Without a key (local mode) there is no session, as in plain Flask."""

    def get_signing_serializer(self, app: Flask | None) -> URLSafeTimedSerializer | None:  # type: ignore[override]
        key = settings.secret_key()
        if not key:
            return None
        return URLSafeTimedSerializer(key, salt=self.salt, serializer=self.serializer,
                                      signer_kwargs={"key_derivation": self.key_derivation,
                                                     "digest_method": self.digest_method})

    def get_cookie_secure(self, app: Flask) -> bool:
        return settings.hosted() or bool(app.config["SESSION_COOKIE_SECURE"])


def init_auth(server: Flask) -> LoginManager:
    """Session cookies (HttpOnly, SameSite=Lax, Secure when hosted, a day long) and Flask-Login."""
    server.session_interface = EnvSessionInterface()
    server.config.update(SESSION_COOKIE_NAME=SESSION_COOKIE, SESSION_COOKIE_HTTPONLY=True,
                         SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME)
    manager = LoginManager()
    manager.init_app(server)
    manager.user_loader(lambda name: Editor(name) if name in load_editors() else None)
    return manager


def _editor_in_cookies(cookies: dict[str, str]) -> bool:
    """Whether the session cookie among ``cookies`` names an editor (a background job, which
    runs outside the request, gets the request's cookies from Dash)."""
    serializer = EnvSessionInterface().get_signing_serializer(None)
    value = cookies.get(SESSION_COOKIE)
    if serializer is None or not value:
        return False
    try:
        data: Any = serializer.loads(value, max_age=int(SESSION_LIFETIME.total_seconds()))
    except BadSignature:
        return False
    return isinstance(data, dict) and data.get("_user_id") in load_editors()


def is_editor() -> bool:
    """Whether the visitor of this request (or of this background job) may write."""
    if not settings.hosted():
        return True
    if has_request_context():
        return bool(current_user and current_user.is_authenticated)
    import dash

    try:
        cookies = dash.callback_context.cookies
    except Exception:  # noqa: BLE001 - neither a request nor a callback: nobody to trust
        return False
    return _editor_in_cookies(dict(cookies or {}))


def editor_name() -> str | None:
    """The signed-in editor's name (None for a viewer and in local mode)."""
    if settings.hosted() and has_request_context() and current_user.is_authenticated:
        return str(current_user.get_id())
    return None


def refusal(action: str) -> str | None:
    """None when the visitor may ``action`` (e.g. ``"rename clusters"``), else the message to show."""
    if is_editor():
        return None
    return f"Only an editor can {action}. Editors sign in first (Sign in, top right)."


def scratch_id(create: bool = False) -> str | None:
    """The visitor's scratch id from their session (hosted mode only); a new one when
    ``create`` and they have none or it expired (a day after it was made)."""
    if not settings.hosted() or not has_request_context() or not settings.secret_key():
        return None
    data = session.get(SCRATCH_KEY)
    if isinstance(data, dict) and is_scratch_id(data.get("id")):
        if time.time() - float(data.get("t", 0)) < SCRATCH_TTL_S:
            return str(data["id"])
    if not create:
        return None
    new = new_scratch_id()
    session[SCRATCH_KEY] = {"id": new, "t": time.time()}
    session.permanent = True
    return new
