"""Explore: the 2-D map of the catalog, hover previews, lasso selection into a tray."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from components import auth, boards, catalog_grid, clusterdata, clusters, explore, filterbar, ids, ratelimit, ui
from components.data import catalog, open_workspace, runs
from core.workspace import build_command

dash.register_page(__name__, path="/explore", name="Explore", title="Style Atlas · Explore", nav_order=1)

GRAPH_CONFIG: Any = {
    "displaylogo": False,
    "scrollZoom": True,
    "modeBarButtonsToRemove": ["toImage", "autoScale2d"],
}


def _board_controls(board_options: list[dict[str, str]]) -> list[Any]:
    return [
        dbc.Label("…or put it on a board", class_name="small fw-semibold mb-1"),
        dbc.InputGroup(
            [
                dbc.Select(id=ids.TRAY_BOARD_SELECT, options=board_options, placeholder="choose a board"),
                dbc.Button("Add", id=ids.TRAY_ADD_BOARD, color="primary", outline=True),
            ],
            size="sm",
            class_name="mb-1",
        ),
        dbc.InputGroup(
            [
                dbc.Input(id=ids.TRAY_NEW_BOARD, placeholder="new board, e.g. May look-book", maxLength=80),
                dbc.Button("New board", id=ids.TRAY_NEW_BOARD_GO, color="primary", outline=True),
            ],
            size="sm",
            class_name="mb-2",
        ),
        boards.export_form("tray", ids.TRAY_EXPORT, "tray"),
    ]


def _tray_panel(board_options: list[dict[str, str]] | None = None) -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(html.Span("Selection tray", className="fw-semibold")),
            dbc.CardBody(
                [
                    html.P(explore.tray_summary(0), id=ids.TRAY_SUMMARY, className="small text-muted"),
                    html.Div(id=ids.TRAY, className="tray mb-3"),
                    dbc.Label("Save the selection as a tag", class_name="small fw-semibold mb-1"),
                    dbc.InputGroup(
                        [
                            dbc.Input(id=ids.TRAY_TAG_NAME, placeholder="tag, e.g. summer edit", maxLength=64),
                            dbc.Button("Save tag", id=ids.TRAY_SAVE_TAG, color="primary"),
                        ],
                        size="sm",
                        class_name="mb-3",
                    ),
                    dbc.Label("…or as examples of a direction", class_name="small fw-semibold mb-1"),
                    dbc.Input(id=ids.TRAY_DIRECTION_NAME, placeholder="direction, e.g. stripes", maxLength=80, size="sm",
                              class_name="mb-1"),
                    dbc.ButtonGroup(
                        [
                            dbc.Button("Add as positive", id=ids.TRAY_ADD_POSITIVE, color="success", outline=True, size="sm"),
                            dbc.Button("Add as negative", id=ids.TRAY_ADD_NEGATIVE, color="danger", outline=True, size="sm"),
                        ],
                        class_name="mb-2 w-100",
                    ),
                    *_board_controls(board_options or []),
                    html.Div(id=ids.TRAY_MESSAGE, className="mt-2"),
                ]
            ),
        ],
        class_name="shadow-sm h-100",
    )


def layout(map: str | None = None, color: str | None = None, **query: Any) -> html.Div:  # noqa: A002
    """The map as stored in the workspace; query ``?map=<run>&color=<cluster|label|colour|novelty>``
    and the filter bar's ``f_*`` parameters (what the filter leaves out is greyed)."""
    ws = open_workspace()
    header = ui.page_header("Explore the collection", "Photos that look alike sit together. Hover to preview; lasso to collect.")
    maps = runs(ws, "projection") if ws is not None else []
    guard = ui.page_guard(ws, header, ids.PAGE_EXPLORE, None if maps else "projection/default",
                          ("No map yet", "The 2-D map of the catalog has not been computed.", ids.EXPLORE_MISSING))
    if guard is not None or ws is None:
        return guard
    run_id = map if map in maps else maps[0]
    key = explore.current_key(ws, run_id)
    frame = explore.map_frame(key)
    has_clusters = "cluster" in frame.columns
    color_by = explore.effective_color(frame, color if color in explore.COLOR_OPTIONS else "cluster")
    names = explore.legend_names(ws, key)
    filter_bar, active = filterbar.bar(ws, query)
    figure = explore.build_figure(frame, color_by, names, keep=filterbar.keep_for(ws, active, frame["item_id"]))
    k = clusterdata.n_levels(ws, key.clusters) if key.clusters else 0
    options = [
        {"label": label, "value": value, "disabled": value in ("cluster", "novelty") and not has_clusters}
        for value, label in explore.COLOR_OPTIONS.items()
    ]
    controls = html.Div(
        [
            dbc.Select(id=ids.EXPLORE_MAP_SELECT, options=[{"label": f"map: {m}", "value": m} for m in maps], value=run_id,
                       size="sm", style={"width": "12rem"}),
            dbc.RadioItems(id=ids.EXPLORE_COLOR, options=options, value=color_by, inline=True,
                           class_name="btn-group btn-group-sm", input_class_name="btn-check",
                           label_class_name="btn btn-outline-primary", label_checked_class_name="active"),
            # re-cuts the clustering's tree: coarser groups in the legend, nothing re-trained
            html.Div(clusters.level_control(max(k, 1), k or 1, id=ids.EXPLORE_LEVEL),
                     style=None if k > 1 else {"display": "none"}),
        ],
        className="d-flex gap-3 align-items-center flex-wrap",
    )
    hint = None if has_clusters else dbc.Alert(
        ["Colour by cluster and novelty need a clustering: ", html.Code(build_command("clusters/default", ws.root))],
        color="light", class_name="small py-2 mb-2",
    )
    return html.Div(
        [
            ui.page_header("Explore the collection",
                           f"{len(frame):,} photos on the map. Hover to preview, click to open, lasso to collect.",
                           right=controls),
            hint,
            filter_bar,
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(
                                html.Div(
                                    [
                                        dcc.Graph(id=ids.EXPLORE_MAP, figure=figure, config=GRAPH_CONFIG,
                                                  clear_on_unhover=True, style={"height": "72vh"}),
                                        dcc.Tooltip(id=ids.EXPLORE_TOOLTIP, direction="right", background_color="white",
                                                    border_color="#ddd"),
                                    ],
                                    style={"position": "relative"},
                                ),
                                class_name="p-1",
                            ),
                            class_name="shadow-sm",
                        ),
                        lg=8,
                    ),
                    dbc.Col(_tray_panel(boards.board_options(ws)), lg=4),
                ],
                class_name="g-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(html.Div([
                        dbc.Button("Show the catalog table", id=ids.CATALOG_GRID_OPEN, color="link", size="sm",
                                   class_name="p-0"),
                        html.Span(id=ids.CATALOG_GRID_NOTE, className="small text-muted"),
                    ], className="d-flex justify-content-between")),
                    dbc.Collapse(dbc.CardBody(catalog_grid.grid(), class_name="p-1"), id=ids.CATALOG_GRID_PANEL,
                                 is_open=False),
                ],
                class_name="shadow-sm mt-3",
            ),
            dcc.Store(id=ids.EXPLORE_KEY, data=key.to_dict(color_by)),
            dcc.Store(id=ids.TRAY_IDS, data=[]),
            dcc.Location(id=ids.EXPLORE_NAV, refresh="callback-nav"),
            dcc.Store(id=ids.EXPLORE_URL_SYNC),
        ],
        id=ids.PAGE_EXPLORE,
    )


# The address bar follows the controls (?map=…&color=…), so a view can be bookmarked or shared.
# history.replaceState changes the URL without a navigation: Dash's router does not re-render
# the page (a dcc.Location output would) and the back button is not flooded with entries.
clientside_callback(
    """
    function(map, color) {
        const params = new URLSearchParams(window.location.search);
        if (map) { params.set("map", map); }
        if (color) { params.set("color", color); }
        const url = window.location.pathname + "?" + params.toString() + window.location.hash;
        window.history.replaceState(window.history.state, "", url);
        return window.dash_clientside.no_update;
    }
    """,
    Output(ids.EXPLORE_URL_SYNC, "data"),
    Input(ids.EXPLORE_MAP_SELECT, "value"),
    Input(ids.EXPLORE_COLOR, "value"),
    prevent_initial_call=True,
)


@callback(
    Output(ids.EXPLORE_MAP, "figure"),
    Output(ids.EXPLORE_KEY, "data"),
    Input(ids.EXPLORE_MAP_SELECT, "value"),
    Input(ids.EXPLORE_COLOR, "value"),
    Input(ids.EXPLORE_LEVEL, "value"),
    Input(ids.EXPLORE_MAP, "relayoutData"),
    Input(ids.FILTER_STATE, "data"),
    State(ids.EXPLORE_KEY, "data"),
    prevent_initial_call=True,
)
def _redraw(run_id: str, color_by: str, level: Any, relayout: dict[str, Any] | None,
            filter_state: dict[str, Any] | None, stored: dict[str, Any] | None) -> tuple[Any, Any]:
    ws = open_workspace()
    if ws is None or not ws.has(f"projection/{run_id}"):
        return no_update, no_update
    key = explore.current_key(ws, run_id, level=level)
    frame = explore.map_frame(key)
    # a new filter keeps the view (the figure's uirevision keeps the zoom); a new map, colouring or level resets it
    view = explore.view_of(stored) if ctx.triggered_id == ids.FILTER_STATE else None
    if ctx.triggered_id == ids.EXPLORE_MAP:  # zoom or pan: only a large map redraws, for the new view
        changed, view = explore.view_change(frame, relayout, explore.view_of(stored))
        if not changed:
            return no_update, no_update
    names = explore.legend_names(ws, key)
    color = explore.effective_color(frame, color_by)
    keep = filterbar.keep_for(ws, filterbar.parse(ws, filter_state)[0], frame["item_id"])
    return explore.build_figure(frame, color, names, view, keep), key.to_dict(color, view)


@callback(
    Output(ids.EXPLORE_TOOLTIP, "show"),
    Output(ids.EXPLORE_TOOLTIP, "bbox"),
    Output(ids.EXPLORE_TOOLTIP, "children"),
    Input(ids.EXPLORE_MAP, "hoverData"),
    State(ids.EXPLORE_KEY, "data"),
)
def _hover(hover_data: dict[str, Any] | None, key: dict[str, Any] | None) -> tuple[Any, Any, Any]:
    ws = open_workspace()
    if not hover_data or not key or ws is None:
        return False, no_update, no_update
    map_key = explore.MapKey.from_dict(key, ws)
    names = explore.legend_names(ws, map_key)
    rows = explore.cached_trace_rows(map_key, key.get("color_by"), explore.view_of(key))
    show, bbox, children = explore.tooltip(explore.map_frame(map_key), rows, hover_data, names)
    return show, bbox if show else no_update, children if show else no_update


@callback(
    Output(ids.TRAY_IDS, "data"),
    Output(ids.TRAY, "children"),
    Output(ids.TRAY_SUMMARY, "children"),
    Input(ids.EXPLORE_MAP, "selectedData"),
    State(ids.EXPLORE_KEY, "data"),
    State(ids.FILTER_STATE, "data"),
    prevent_initial_call=True,
)
def _select(selected: dict[str, Any] | None, key: dict[str, Any] | None,
            filter_state: dict[str, Any] | None) -> tuple[Any, Any, Any]:
    ws = open_workspace()
    if not key or ws is None:
        return [], [], explore.tray_summary(0)
    map_key = explore.MapKey.from_dict(key, ws)
    frame = explore.map_frame(map_key)
    if explore.keeps_tray(frame, selected):
        return no_update, no_update, no_update
    rows = explore.cached_trace_rows(map_key, key.get("color_by"), explore.view_of(key))
    keep = filterbar.keep_for(ws, filterbar.parse(ws, filter_state)[0], frame["item_id"])
    item_ids = explore.selected_ids(frame, rows, selected, keep)  # a lasso collects what passes the filter
    return (item_ids, *_tray_view(ws, item_ids))


def _tray_view(ws: Any, item_ids: list[str]) -> tuple[Any, Any]:
    cat = catalog(ws)
    cards = [ui.item_card(i, cat.label(i) if cat else None) for i in item_ids[: explore.TRAY_SHOWN]]
    return ui.gallery(cards, min_width=84, id=ids.TRAY_GALLERY) if cards else [], explore.tray_summary(len(item_ids))


@callback(
    Output(ids.TRAY_MESSAGE, "children"),
    Input(ids.TRAY_SAVE_TAG, "n_clicks"),
    Input(ids.TRAY_ADD_POSITIVE, "n_clicks"),
    Input(ids.TRAY_ADD_NEGATIVE, "n_clicks"),
    State(ids.TRAY_IDS, "data"),
    State(ids.TRAY_TAG_NAME, "value"),
    State(ids.TRAY_DIRECTION_NAME, "value"),
    prevent_initial_call=True,
)
def _save(_t: int | None, _p: int | None, _n: int | None, item_ids: list[str], tag: str | None, direction: str | None) -> Any:
    ws = open_workspace()
    if ws is None:
        return ui.alert("The workspace is missing.", "danger")
    action = {ids.TRAY_SAVE_TAG: "tag", ids.TRAY_ADD_POSITIVE: "positive", ids.TRAY_ADD_NEGATIVE: "negative"}[ctx.triggered_id]
    scratch: str | None = None
    if not auth.is_editor():  # a viewer's tray goes to their own scratch space
        scratch = auth.scratch_id(create=True)
        refused = ratelimit.refusal("scratch") if scratch else "Saving needs a session; reload the page."
        if refused:
            return ui.alert(refused, "warning", id=ids.TRAY_ALERT)
    message, colour = explore.save_tray(ws, item_ids or [], action, tag if action == "tag" else direction, scratch)
    return ui.alert(message, colour, id=ids.TRAY_ALERT)


@callback(
    Output(ids.EXPLORE_NAV, "href"),
    Input(ids.EXPLORE_MAP, "clickData"),
    State(ids.EXPLORE_KEY, "data"),
    prevent_initial_call=True,
)
def _open(click: dict[str, Any] | None, key: dict[str, Any] | None) -> Any:
    ws = open_workspace()
    if not key or ws is None:
        return no_update
    map_key = explore.MapKey.from_dict(key, ws)
    rows = explore.cached_trace_rows(map_key, key.get("color_by"), explore.view_of(key))
    href = explore.clicked_href(explore.map_frame(map_key), rows, click)
    return href or no_update


clientside_callback(
    "function(ids) { return (ids || []).join(','); }",
    Output({"type": ids.EXPORT_FORM_TYPE, "kind": "tray"}, "value"),
    Input(ids.TRAY_IDS, "data"),
)


@callback(
    Output(ids.TRAY_MESSAGE, "children", allow_duplicate=True),
    Output(ids.TRAY_BOARD_SELECT, "options"),
    Output(ids.TRAY_BOARD_SELECT, "value"),
    Output(ids.ACTIVE_BOARD, "data", allow_duplicate=True),
    Input(ids.TRAY_ADD_BOARD, "n_clicks"),
    Input(ids.TRAY_NEW_BOARD_GO, "n_clicks"),
    State(ids.TRAY_IDS, "data"),
    State(ids.TRAY_BOARD_SELECT, "value"),
    State(ids.TRAY_NEW_BOARD, "value"),
    prevent_initial_call=True,
)
def _to_board(_a: int | None, _n: int | None, item_ids: list[str] | None, board_id: str | None,
              name: str | None) -> tuple[Any, Any, Any, Any]:
    """The tray onto a board: an existing one, or a new one made from it (the role is checked
    on the server: a viewer's boards are their own)."""
    if not (_a or _n):  # Dash makes an initial call of it on page load even so (both clicks None)
        return no_update, no_update, no_update, no_update
    ws = open_workspace()
    if ws is None:
        return ui.alert("The workspace is missing.", "danger"), no_update, no_update, no_update
    item_ids = list(item_ids or [])
    if len(item_ids) > explore.MAX_TRAY_ITEMS:
        return (ui.alert(f"The tray can save at most {explore.MAX_TRAY_ITEMS} photos at once; select fewer.", "warning"),
                no_update, no_update, no_update)
    if ctx.triggered_id == ids.TRAY_NEW_BOARD_GO:
        if not item_ids:
            return ui.alert("Select some photos on the map first.", "warning"), no_update, no_update, no_update
        made, message, colour = boards.create_board(ws, name, None, item_ids)
        if made is None:
            return ui.alert(message, colour, id=ids.TRAY_ALERT), no_update, no_update, no_update
        board_id = str(made.board_id)
    else:
        message, colour = boards.add_to_board(ws, board_id, item_ids)
        if colour != "success":
            return ui.alert(message, colour, id=ids.TRAY_ALERT), no_update, no_update, no_update
    return ui.alert(message, colour, id=ids.TRAY_ALERT), boards.board_options(ws), board_id, boards.active_value(board_id)


@callback(
    Output(ids.CATALOG_GRID_PANEL, "is_open"),
    Output(ids.CATALOG_GRID_OPEN, "children"),
    Input(ids.CATALOG_GRID_OPEN, "n_clicks"),
    State(ids.CATALOG_GRID_PANEL, "is_open"),
    prevent_initial_call=True,
)
def _toggle_grid(_n: int | None, is_open: bool | None) -> tuple[Any, Any]:
    if not _n:
        return no_update, no_update
    return (not is_open), ("Hide the catalog table" if not is_open else "Show the catalog table")


@callback(
    Output(ids.CATALOG_GRID, "rowData"),
    Output(ids.CATALOG_GRID, "columnDefs"),
    Output(ids.CATALOG_GRID_NOTE, "children"),
    Input(ids.CATALOG_GRID_PANEL, "is_open"),
    Input(ids.FILTER_STATE, "data"),
    prevent_initial_call=True,
)
def _grid_rows(is_open: bool | None, filter_state: dict[str, Any] | None) -> tuple[Any, Any, Any]:
    """The table's rows (what passes the filter), sent once it is opened."""
    ws = open_workspace()
    if ws is None or not is_open:
        return no_update, no_update, no_update
    rows, columns, note = catalog_grid.grid_rows(ws, filterbar.parse(ws, filter_state)[0])
    return rows, columns, note


@callback(
    Output(ids.TRAY_IDS, "data", allow_duplicate=True),
    Output(ids.TRAY, "children", allow_duplicate=True),
    Output(ids.TRAY_SUMMARY, "children", allow_duplicate=True),
    Input(ids.CATALOG_GRID, "selectedRows"),
    State(ids.TRAY_IDS, "data"),
    prevent_initial_call=True,
)
def _grid_to_tray(rows: list[dict[str, Any]] | None, tray: list[str] | None) -> tuple[Any, Any, Any]:
    """Rows picked in the table are the selection (the tray), as a lasso's would be."""
    ws = open_workspace()
    if ws is None or not isinstance(rows, list):
        return no_update, no_update, no_update
    cat = catalog(ws)
    item_ids = [i for i in catalog_grid.selected(rows) if i in cat][: 5 * explore.MAX_TRAY_ITEMS]
    if set(item_ids) == set(tray or []):
        return no_update, no_update, no_update
    return (item_ids, *_tray_view(ws, item_ids))


@callback(
    Output(ids.CATALOG_GRID, "selectedRows"),
    Input(ids.TRAY_IDS, "data"),
    State(ids.CATALOG_GRID, "selectedRows"),
    prevent_initial_call=True,
)
def _tray_to_grid(tray: list[str] | None, rows: list[dict[str, Any]] | None) -> Any:
    """A lasso on the map selects the same rows in the table."""
    if set(tray or []) == set(catalog_grid.selected(rows if isinstance(rows, list) else [])):
        return no_update
    return {"ids": list(tray or [])}
