"""Drive the real app over HTTP as a browser (or a forger) would: Dash callback POSTs, page
renders and hosted-mode sign-in, through Flask's test client."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

EDITOR, PASSWORD = "edith", "correct horse battery"
SECRET = "test-secret-key-" + "x" * 32
_addresses = itertools.count(1)

Prop = tuple[Any, str, Any]  # (component id, property, value)


def enable_hosted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hosted mode with one editor (a fast pbkdf2 hash) and a secret key."""
    hashed = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    monkeypatch.setenv("STYLE_ATLAS_EDITORS", f"{EDITOR}:{hashed}")
    monkeypatch.setenv("SECRET_KEY", SECRET)


def client() -> FlaskClient:
    """A test client of the app with its own remote address (rate limits count per client)."""
    from app import server

    n = next(_addresses)
    c = server.test_client()
    c.environ_base["REMOTE_ADDR"] = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    c.get("/_dash-dependencies")  # the first request sets the app's callbacks up
    return c


def sign_in(c: FlaskClient, username: str = EDITOR, password: str = PASSWORD) -> Any:
    return c.post("/auth/signin", data={"username": username, "password": password, "next": "/clusters"})


def _key(ident: Any) -> str:
    return json.dumps(ident, sort_keys=True, separators=(",", ":")) if isinstance(ident, dict) else str(ident)


def post_callback(c: FlaskClient, outputs: list[tuple[Any, str]], inputs: list[Prop], state: list[Prop] = (),  # type: ignore[assignment]
                  changed: int = 0, query: str = "") -> Any:
    """POST ``/_dash-update-component`` with the renderer's payload shape; ``changed`` is the
    index of the input that fired."""
    outs = [{"id": i, "property": p} for i, p in outputs]
    output = callback_key([i for i, _, _ in inputs])
    body = {
        "output": output,
        "outputs": outs[0] if len(outs) == 1 else outs,
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": [f"{_key(inputs[changed][0])}.{inputs[changed][1]}"],
    }
    return c.post("/_dash-update-component" + query, json=body)


def callback_key(input_ids: list[Any]) -> str:
    """The app's key (``output`` of the payload) of the callback with these inputs; ids of
    pattern-matching inputs are matched by their ``type``."""
    from app import app

    def name(ident: Any) -> str:
        return ident["type"] if isinstance(ident, dict) else str(ident)

    def registered(ident: str) -> str:
        return json.loads(ident)["type"] if ident.startswith("{") else ident

    wanted = [name(i) for i in input_ids]
    for key, spec in app.callback_map.items():
        if [registered(i["id"]) for i in spec["inputs"]] == wanted:
            return key
    raise KeyError(f"no callback with inputs {wanted}")


def render_page(c: FlaskClient, pathname: str, search: str = "") -> Any:
    """What Dash's page router answers for ``pathname?search`` (the page's layout)."""
    return post_callback(
        c, [("_pages_content", "children"), ("_pages_store", "data")],
        [("_pages_location", "pathname", pathname), ("_pages_location", "search", search)],
    )


def text(response: Any) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)
