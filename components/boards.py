"""The Boards page's logic and the "add to board" actions of the tray, cards and search results.

Reads go through the visitor's view (:func:`reader`: shared boards, and a viewer's own scratch
boards); writes through :func:`writer`, which asks the role on the server: an editor writes
the shared boards, a viewer their own scratch boards (rate-limited like other scratch saves).
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import auth, ids, ratelimit, ui
from components.data import catalog
from components.downloads import board_url, list_url
from components.images import thumb_url
from components.links import shown_slug, with_collection
from core.boards import MAX_BOARD_NOTE_LEN, MAX_ITEM_NOTE_LEN, Board, Boards, BoardSummary
from core.errors import StyleAtlasError
from core.export import FORMATS
from core.workspace import Workspace

FORMAT_LABELS = {"pdf": "Look-book PDF", "html": "Look-book HTML", "zip": "Images (ZIP)", "csv": "Table (CSV)"}
MINE_NOTE = " Saved in your own space: only you see it, for a day."


def active_value(board_id: object) -> dict[str, str]:
    """What the ``ACTIVE_BOARD`` store (per tab) holds for the board the cards' ＋ adds to: the
    board with its collection, since board ids count per collection."""
    return {"c": shown_slug() or "", "board": str(board_id)}


def active_board(data: object) -> str | None:
    """The open board of an ``ACTIVE_BOARD`` store's data, when it belongs to the collection of
    this request (a board opened in another collection is not this one's); None otherwise."""
    if not isinstance(data, dict) or data.get("c") != (shown_slug() or ""):
        return None
    board = data.get("board")
    return str(board)[:20] if board not in (None, "") else None


def reader(ws: Workspace) -> Boards:
    """The boards this visitor sees."""
    return Boards(ws.annotations_path, auth.scratch_id())


def writer(ws: Workspace) -> tuple[Boards | None, str | None]:
    """``(repository, None)`` to write with, or ``(None, refusal)``: an editor writes the shared
    boards; a viewer their own scratch boards (a session and the scratch rate limit permitting)."""
    if auth.is_editor():
        return Boards(ws.annotations_path), None
    sid = auth.scratch_id(create=True)
    if sid is None:
        return None, "Saving needs a session; reload the page."
    if (refused := ratelimit.refusal("scratch")) is not None:
        return None, refused
    return Boards(ws.annotations_path, sid), None


def writable(ws: Workspace) -> list[BoardSummary]:
    """Boards this visitor may add to (shared for an editor, their own for a viewer)."""
    editor = auth.is_editor()
    return [b for b in reader(ws).list() if b.mine != editor]


def board_options(ws: Workspace) -> list[dict[str, Any]]:
    """Options of a board picker."""
    return [{"label": f"{b.name} ({b.n_items})", "value": str(b.board_id)} for b in writable(ws)]


def create_board(ws: Workspace, name: str | None, note: str | None = None,
                 item_ids: list[str] | None = None) -> tuple[Board | None, str, str]:
    """Create a board (optionally with items, those in the catalog, in order); returns
    ``(board or None, message, bootstrap colour)``."""
    repo, refused = writer(ws)
    if repo is None:
        return None, refused or "", "warning"
    cat = catalog(ws)
    kept = [i for i in (item_ids or []) if i in cat]
    try:
        board = repo.create(name or "", note, kept)
    except StyleAtlasError as exc:
        return None, str(exc), "danger"
    mine = MINE_NOTE if repo.scratch_id else ""
    return board, f"Board “{board.name}” made with {len(board.items)} piece(s).{mine}", "success"


def add_to_board(ws: Workspace, board_id: object, item_ids: list[str]) -> tuple[str, str]:
    """Add items (those in the catalog) to a board; returns ``(message, bootstrap colour)``."""
    if board_id in (None, ""):
        return "Choose a board first, or make one on the Boards page.", "warning"
    cat = catalog(ws)
    kept = [i for i in item_ids or [] if i in cat]
    if not kept:
        return "Select some photos first.", "warning"
    repo, refused = writer(ws)
    if repo is None:
        return refused or "", "warning"
    try:
        new = repo.add(board_id, kept)
        board = repo.get(board_id)
    except StyleAtlasError as exc:
        return str(exc), "danger"
    return f"Added {new} piece(s) to “{board.name}” ({len(board.items)} in all).", "success"


def list_cards(ws: Workspace) -> list[Any]:
    """One card per visible board: cover, name, size, note, link."""
    cards = []
    for b in reader(ws).list():
        cover = html.Img(src=thumb_url(b.cover_id), className="card-img-top item-thumb") if b.cover_id else html.Div(
            "empty", className="board-empty-cover text-muted small")
        cards.append(dbc.Card([
            dcc.Link(cover, href=with_collection(f"/boards?board={b.board_id}"), className="thumb-link"),
            dbc.CardBody([
                dcc.Link(b.name, href=with_collection(f"/boards?board={b.board_id}"), className="fw-semibold",
                         id=f"board-link-{b.board_id}"),
                html.Div(f"{b.n_items} piece{'s' if b.n_items != 1 else ''}" + (" · yours" if b.mine else ""),
                         className="small text-muted"),
                html.Div(b.note, className="small text-truncate") if b.note else None,
            ], class_name="p-2"),
        ], class_name="item-card h-100 shadow-sm"))
    return cards


def piece(ws: Workspace, item_id: str, note: str, position: int, editable: bool) -> html.Div:
    """One draggable piece of a board (the drag handler in assets/board_drag.js reads
    ``data-item``)."""
    cat = catalog(ws)
    return html.Div(
        [
            html.Div(str(position), className="board-position small text-muted"),
            dcc.Link(html.Img(src=thumb_url(item_id), className="board-thumb", alt=cat.label(item_id) or item_id,
                              draggable="false"),
                     href=with_collection(f"/item/{item_id}")),
            html.Div(
                [
                    html.Div(cat.label(item_id) or "unlabelled", className="small fw-semibold text-truncate"),
                    dbc.Textarea(id={"type": ids.BOARD_NOTE_TYPE, "item": item_id}, value=note, rows=2,
                                 maxLength=MAX_ITEM_NOTE_LEN, placeholder="note on this piece", size="sm",
                                 disabled=not editable, debounce=True, class_name="mt-1"),
                    dbc.Button("Remove", id={"type": ids.BOARD_REMOVE_TYPE, "item": item_id}, size="sm", color="link",
                               class_name="p-0 small text-danger", disabled=not editable),
                ],
                className="board-piece-body",
            ),
        ],
        className="board-piece" + (" editable" if editable else ""),
        draggable="true" if editable else "false",
        **{"data-item": item_id},
    )


def pieces(ws: Workspace, board: Board, editable: bool) -> list[Any]:
    """The board's pieces, in order."""
    if not board.items:
        return [html.P("No pieces yet. Add photos from the Explore tray, any gallery card (＋) or search results.",
                       className="text-muted")]
    return [piece(ws, i.item_id, i.note, n, editable) for n, i in enumerate(board.items, start=1)]


def may_edit(board: Board) -> bool:
    """Whether this visitor may change ``board`` (an editor a shared one, a viewer their own)."""
    return board.mine != auth.is_editor()


def export_links(board: Board) -> html.Div:
    """Download links of a board, one per format (streamed by components.downloads)."""
    return html.Div(
        [html.A(FORMAT_LABELS[f], href=board_url(board.board_id, f), download="", className="btn btn-outline-primary btn-sm",
                id=f"board-export-{f}") for f in ("pdf", "html", "zip", "csv")],
        className="d-flex gap-2 flex-wrap", id=ids.BOARD_EXPORTS,
    )


def detail(ws: Workspace, board: Board) -> html.Div:
    """The page of one board: name and note, export links, the pieces to drag into order."""
    editable = may_edit(board)
    return html.Div(
        [
            dcc.Link("← All boards", href=with_collection("/boards"), className="small"),
            ui.page_header(board.name, f"{len(board.items)} pieces" + (" · yours, only you see it" if board.mine else ""),
                           right=export_links(board)),
            dbc.Row([
                dbc.Col(dbc.Input(id=ids.BOARD_NAME, value=board.name, maxLength=80, disabled=not editable, size="sm"),
                        md=4),
                dbc.Col(dbc.Textarea(id=ids.BOARD_NOTE, value=board.note, maxLength=MAX_BOARD_NOTE_LEN, rows=2,
                                     placeholder="a note on the board (printed on the look-book's cover)",
                                     disabled=not editable, size="sm"), md=6),
                dbc.Col(dbc.Button("Save", id=ids.BOARD_SAVE, color="primary", size="sm", disabled=not editable), md=2),
            ], class_name="g-2 mb-2"),
            html.P("Drag the pieces into the order of the look-book." if editable else
                   "Only an editor can change a shared board.", className="small text-muted mb-2"),
            html.Div(id=ids.BOARD_MESSAGE),
            html.Div(pieces(ws, board, editable), id=ids.BOARD_PIECES, className="board-pieces"),
            dcc.Store(id=ids.BOARD_CURRENT, data=board.board_id),
            dcc.Store(id=ids.BOARD_ORDER),
        ],
        id=ids.BOARD_DETAIL,
    )


def export_form(kind: str, fmt_ids: str, title: str) -> html.Form:
    """A POST form exporting a tray or a result list (the ids are filled in by a callback into
    the hidden input ``{"type": EXPORT_FORM_TYPE, "kind": kind}``); one submit button per format."""
    return html.Form(
        [
            dcc.Input(type="hidden", name="ids", id={"type": ids.EXPORT_FORM_TYPE, "kind": kind}, value=""),
            dcc.Input(type="hidden", name="scores", id={"type": ids.EXPORT_FORM_TYPE, "kind": f"{kind}-scores"}, value=""),
            dcc.Input(type="hidden", name="kind", value=kind),
            dcc.Input(type="hidden", name="title", value=title),
            html.Span("Export: ", className="small text-muted me-1"),
            *[html.Button(f.upper(), type="submit", formAction=list_url(f), className="btn btn-link btn-sm p-0 me-2",
                          id=f"{fmt_ids}-{f}") for f in FORMATS],
        ],
        method="POST",
        action=list_url("csv"),
        className="d-flex align-items-center",
        id=fmt_ids,
    )
