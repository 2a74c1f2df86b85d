"""Shown for any URL that is not a page."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from components import ids, ui

dash.register_page(__name__, title="Style Atlas · Not found")


def layout(**_query: Any) -> html.Div:
    return html.Div(ui.not_found("page", "this address"), id=ids.PAGE_404)
