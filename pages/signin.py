"""Sign in: ``/signin`` (hosted mode), a form posting to the Flask route ``/auth/signin``."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import html

from components import ids, settings, ui
from components.auth import editor_name
from components.signin import SIGNIN_ROUTE, SIGNOUT_ROUTE, safe_next

dash.register_page(__name__, path="/signin", name="Sign in", title="Style Atlas · Sign in")


def _form(target: str, error: bool) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            html.Form(
                [
                    dbc.Alert("Wrong name or password.", color="danger", id=ids.SIGNIN_ERROR, class_name="py-2")
                    if error else None,
                    dbc.Label("Name", html_for="signin-username", class_name="small fw-semibold"),
                    dbc.Input(id=ids.SIGNIN_USERNAME, name="username", autocomplete="username", required=True,
                              class_name="mb-2"),
                    dbc.Label("Password", html_for="signin-password", class_name="small fw-semibold"),
                    dbc.Input(id=ids.SIGNIN_PASSWORD, name="password", type="password",
                              autocomplete="current-password", required=True, class_name="mb-3"),
                    dbc.Input(type="hidden", name="next", value=target, id=ids.SIGNIN_NEXT),
                    dbc.Button("Sign in", id=ids.SIGNIN_SUBMIT, type="submit", color="primary", class_name="w-100"),
                ],
                action=SIGNIN_ROUTE,
                method="POST",
            )
        ),
        class_name="shadow-sm",
        style={"maxWidth": "24rem"},
    )


def layout(error: str | None = None, next: str | None = None, **_query: Any) -> html.Div:  # noqa: A002
    """The form; who is signed in when an editor is; a note in local mode."""
    header = ui.page_header("Sign in", "Editors sign in to rename clusters, save tags and directions, and build.")
    if not settings.hosted():
        body: Any = dbc.Alert("This server runs locally: you are its editor, no sign-in needed.", color="info",
                              id=ids.SIGNIN_LOCAL)
    elif (name := editor_name()) is not None:
        body = html.Form(
            [html.P(f"You are signed in as {name}.", id=ids.SIGNIN_WHO),
             dbc.Button("Sign out", type="submit", color="secondary", outline=True)],
            action=SIGNOUT_ROUTE, method="POST",
        )
    else:
        body = _form(safe_next(next), error is not None)
    return html.Div([header, body], id=ids.PAGE_SIGNIN)
