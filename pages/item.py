"""Item detail: ``/item/<item_id>`` (large image, metadata, cluster, tags, neighbours)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, html, no_update

from components import auth, ids, item
from components.data import open_workspace

dash.register_page(__name__, path_template="/item/<item_id>", name="Item", title="Style Atlas · Item")


def layout(item_id: str = "", **_query: Any) -> html.Div:
    return html.Div(item.render(open_workspace(), item_id), id=ids.PAGE_ITEM)


@callback(
    Output(ids.ITEM_TAGS, "children"),
    Output(ids.ITEM_TAG_MESSAGE, "children"),
    Output(ids.ITEM_TAG_INPUT, "value"),
    Input(ids.ITEM_TAG_ADD, "n_clicks"),
    Input(ids.ITEM_TAG_INPUT, "n_submit"),
    State(ids.ITEM_TAG_INPUT, "value"),
    State("_pages_location", "pathname"),
    prevent_initial_call=True,
)
def _add_tag(_clicks: int | None, _submit: int | None, tag: str | None, pathname: str) -> tuple[Any, Any, Any]:
    if (refused := auth.refusal("tag items here (the Explore tray keeps tags of your own)")) is not None:
        return no_update, refused, no_update
    ws = open_workspace()
    if ws is None:
        return no_update, "The workspace is missing.", no_update
    tags, error = item.add_tag(ws, pathname.rstrip("/").rsplit("/", 1)[-1], tag)
    return item.tag_badges(tags), error or "", no_update if error else ""
