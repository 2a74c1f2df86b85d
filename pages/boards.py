"""Boards: named, ordered sets of pieces with notes; drag into order, export as a look-book.

``/boards`` lists the boards and makes new ones; ``/boards?board=<id>`` opens one. The ＋ on any
gallery card adds that piece to the open board (the one last opened or made, kept per tab).
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, html, no_update

from components import boards, ids, ui
from components.data import open_workspace
from components.links import with_collection
from core.boards import MAX_BOARD_NOTE_LEN
from core.errors import StyleAtlasError

dash.register_page(__name__, path="/boards", name="Boards", title="Style Atlas · Boards", nav_order=6)


def _create_form() -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        dbc.Label("A new board", class_name="small fw-semibold mb-1"),
        dbc.Input(id=ids.BOARD_NEW_NAME, placeholder="name, e.g. Spring look-book", maxLength=80, size="sm",
                  class_name="mb-1"),
        dbc.Textarea(id=ids.BOARD_NEW_NOTE, placeholder="a note (optional)", maxLength=MAX_BOARD_NOTE_LEN, rows=2,
                     size="sm", class_name="mb-1"),
        dbc.Button("Make board", id=ids.BOARD_CREATE, color="primary", size="sm"),
        html.Div(id=ids.BOARD_CREATE_MESSAGE, className="mt-2"),
    ]), class_name="shadow-sm")


def layout(board: str | None = None, **_query: Any) -> html.Div:
    """All boards, or one (``?board=<id>``)."""
    ws = open_workspace()
    header = ui.page_header("Boards", "Pull pieces together, put them in order, take them elsewhere.")
    guard = ui.page_guard(ws, header, ids.PAGE_BOARDS)
    if guard is not None or ws is None:
        return guard
    if board is not None:
        try:
            found = boards.reader(ws).get(board)
        except StyleAtlasError:
            return html.Div(ui.not_found("board", str(board), back_href=with_collection("/boards"),
                                         back_label="See all boards"),
                            id=ids.PAGE_BOARDS)
        return html.Div(boards.detail(ws, found), id=ids.PAGE_BOARDS)
    cards = boards.list_cards(ws)
    return html.Div([
        header,
        dbc.Row([
            dbc.Col(html.Div(ui.gallery(cards, min_width=170) if cards else ui.empty_state(
                "No boards yet", "Make one here, or from the tray on the Explore map."), id=ids.BOARD_LIST), lg=9),
            dbc.Col(_create_form(), lg=3),
        ], class_name="g-3"),
    ], id=ids.PAGE_BOARDS)


@callback(
    Output(ids.BOARD_CREATE_MESSAGE, "children"),
    Output(ids.BOARD_LIST, "children"),
    Output(ids.ACTIVE_BOARD, "data", allow_duplicate=True),
    Input(ids.BOARD_CREATE, "n_clicks"),
    State(ids.BOARD_NEW_NAME, "value"),
    State(ids.BOARD_NEW_NOTE, "value"),
    prevent_initial_call=True,
)
def _create(_n: int | None, name: str | None, note: str | None) -> tuple[Any, Any, Any]:
    if not _n:
        return no_update, no_update, no_update
    ws = open_workspace()
    if ws is None:
        return ui.alert("The workspace is missing.", "danger"), no_update, no_update
    made, message, colour = boards.create_board(ws, name, note)
    if made is None:
        return ui.alert(message, colour), no_update, no_update
    return (ui.alert(message, colour), ui.gallery(boards.list_cards(ws), min_width=170),
            boards.active_value(made.board_id))


@callback(
    Output(ids.ACTIVE_BOARD, "data", allow_duplicate=True),
    Input(ids.BOARD_CURRENT, "data"),
    prevent_initial_call="initial_duplicate",
)
def _open(board_id: int | None) -> Any:
    """Opening a board one may change makes it the one the cards' ＋ adds to."""
    ws = open_workspace()
    if ws is None or board_id is None:
        return no_update
    try:
        board = boards.reader(ws).get(board_id)
    except StyleAtlasError:
        return no_update
    return boards.active_value(board.board_id) if boards.may_edit(board) else no_update


@callback(
    Output(ids.BOARD_MESSAGE, "children"),
    Input(ids.BOARD_SAVE, "n_clicks"),
    State(ids.BOARD_CURRENT, "data"),
    State(ids.BOARD_NAME, "value"),
    State(ids.BOARD_NOTE, "value"),
    prevent_initial_call=True,
)
def _save(_n: int | None, board_id: int, name: str | None, note: str | None) -> Any:
    if not _n:
        return no_update
    ws = open_workspace()
    if ws is None:
        return ui.alert("The workspace is missing.", "danger")
    repo, refused = boards.writer(ws)
    if repo is None:
        return ui.alert(refused or "", "warning")
    try:
        repo.update(board_id, name=name or "", note=note or "")
    except StyleAtlasError as exc:
        return ui.alert(str(exc), "danger")
    return ui.alert("Saved.", "success")


@callback(
    Output(ids.BOARD_PIECES, "children"),
    Output(ids.BOARD_MESSAGE, "children", allow_duplicate=True),
    Input(ids.BOARD_ORDER, "data"),
    Input({"type": ids.BOARD_REMOVE_TYPE, "item": ALL}, "n_clicks"),
    Input({"type": ids.BOARD_NOTE_TYPE, "item": ALL}, "value"),
    State(ids.BOARD_CURRENT, "data"),
    prevent_initial_call=True,
)
def _change(order: dict[str, Any] | None, removes: list[int | None], _notes: list[str | None],
            board_id: int) -> tuple[Any, Any]:
    """Drag-and-drop order (from assets/board_drag.js), a removed piece or a piece's note."""
    ws = open_workspace()
    trigger = ctx.triggered_id
    if ws is None or trigger is None:
        return no_update, no_update
    repo, refused = boards.writer(ws)
    if repo is None:
        return no_update, ui.alert(refused or "", "warning")
    try:
        if trigger == ids.BOARD_ORDER:
            new_order = (order or {}).get("order")
            if not isinstance(new_order, list) or len(new_order) > 5000:
                return no_update, no_update
            board = repo.reorder(board_id, [str(i) for i in new_order])
            return boards.pieces(ws, board, True), ui.alert("Order saved.", "success")
        if isinstance(trigger, dict) and trigger.get("type") == ids.BOARD_REMOVE_TYPE:
            if not any(removes):
                return no_update, no_update
            repo.remove(board_id, [str(trigger["item"])])
            board = repo.get(board_id)
            return boards.pieces(ws, board, True), ui.alert("Removed.", "secondary")
        if isinstance(trigger, dict) and trigger.get("type") == ids.BOARD_NOTE_TYPE:
            value = ctx.triggered[0]["value"] if ctx.triggered else None
            repo.set_item_note(board_id, str(trigger["item"]), value if isinstance(value, str) else "")
            return no_update, ui.alert("Note saved.", "success")
    except StyleAtlasError as exc:
        board_now = boards.reader(ws).get(board_id)
        return boards.pieces(ws, board_now, boards.may_edit(board_now)), ui.alert(str(exc), "danger")
    return no_update, no_update


@callback(
    Output(ids.BOARD_ADD_MESSAGE, "children", allow_duplicate=True),
    Input({"type": ids.BOARD_ADD_TYPE, "item": ALL}, "n_clicks"),
    State(ids.ACTIVE_BOARD, "data"),
    prevent_initial_call=True,
)
def _add_card(clicks: list[int | None], active: Any) -> Any:
    """The ＋ of a gallery card: add that piece to the open board."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks) or not (ctx.triggered and ctx.triggered[0]["value"]):
        return no_update
    ws = open_workspace()
    if ws is None:
        return no_update
    message, colour = boards.add_to_board(ws, boards.active_board(active), [str(trigger["item"])])
    return ui.alert(message, colour, id="board-add-alert", duration=4000)
