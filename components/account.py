"""The navbar's account corner in hosted mode: "Sign in", or the editor's name and "Sign out"."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components import ids, settings
from components.auth import editor_name
from components.signin import SIGNIN_PAGE, SIGNOUT_ROUTE


def widget() -> Any:
    """Nothing in local mode (its one user is the editor); else the visitor's role and action."""
    if not settings.hosted():
        return None
    name = editor_name()
    if name is None:
        return dbc.NavItem(dbc.NavLink("Sign in", href=SIGNIN_PAGE, id=ids.NAV_SIGNIN, external_link=True),
                           class_name="ms-lg-3")
    return html.Form(
        [
            html.Span(f"Editor: {name}", className="navbar-text small me-2", id=ids.NAV_EDITOR),
            dbc.Button("Sign out", type="submit", color="light", outline=True, size="sm", id=ids.NAV_SIGNOUT),
        ],
        action=SIGNOUT_ROUTE,
        method="POST",
        className="d-flex align-items-center ms-lg-3",
    )
