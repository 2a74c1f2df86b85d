"""Overview (home): the catalog at a glance; where something is missing, what to run."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from components import overview, ui
from components.data import open_workspace
from components.settings import workspace_path

dash.register_page(__name__, path="/", name="Overview", title="Style Atlas · Overview", nav_order=0)


def layout(**_query: Any) -> html.Div:
    """The overview, read from the workspace on every visit."""
    path = workspace_path()
    summary = overview.summarise(open_workspace(path), path)
    return html.Div(
        [
            ui.page_header("Catalog overview", "What this collection holds and what has been computed from it."),
            overview.render(summary),
        ],
        id="page-overview",
    )
