"""Search: query by upload, URL or catalog item; results follow one slider per direction."""

from __future__ import annotations

import time
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from components import auth, boards, clusterdata, filterbar, ids, ratelimit, refine, search, ui
from components.data import catalog, open_workspace
from components.links import with_collection
from components.settings import max_upload_bytes
from core.errors import StyleAtlasError

dash.register_page(__name__, path="/search", name="Search", title="Style Atlas · Search", nav_order=4)


def _query_panel() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(html.Span("Your query", className="fw-semibold")),
            dbc.CardBody(
                [
                    dcc.Upload(
                        html.Div([html.Div("Drop a photo here", className="fw-semibold"),
                                  html.Div("or click to choose one (JPEG, PNG, WebP)", className="small text-muted")]),
                        id=ids.SEARCH_UPLOAD,
                        accept="image/*",
                        multiple=False,
                        className="upload-zone mb-2",
                    ),
                    dbc.InputGroup(
                        [
                            dbc.Input(id=ids.SEARCH_URL, placeholder="…or paste an image address (https://…)", type="url"),
                            dbc.Button("Search", id=ids.SEARCH_URL_GO, color="primary"),
                        ],
                        size="sm",
                        class_name="mb-3",
                    ),
                    html.Div(
                        [
                            html.Div("…or search by colour", className="small fw-semibold mb-1"),
                            dbc.InputGroup(
                                [
                                    dbc.Input(id=ids.SEARCH_COLOUR, type="color", value="#b22222",
                                              style={"maxWidth": "4rem"}),
                                    dbc.Button("Use colour", id=ids.SEARCH_COLOUR_GO, color="secondary", outline=True),
                                    dbc.Button("Clear", id=ids.SEARCH_COLOUR_CLEAR, color="link"),
                                ],
                                size="sm",
                            ),
                            dcc.Upload(html.Div("or drop a swatch image", className="small"), id=ids.SEARCH_SWATCH,
                                       accept="image/*", multiple=False, className="upload-zone upload-zone-small my-1"),
                            html.Div(id=ids.SEARCH_COLOUR_VIEW, className="small text-muted"),
                        ],
                        className="mb-3",
                    ),
                    html.Div(id=ids.SEARCH_QUERY_VIEW),
                    dcc.Loading(html.Div(id=ids.SEARCH_QUERY_CLUSTER, className="small text-muted"), type="dot",
                                delay_show=300),
                ]
            ),
        ],
        class_name="shadow-sm mb-3",
    )


def _sliders(dirs: list[dict[str, Any]], problems: list[str]) -> dbc.Card:
    rows: list[Any] = []
    editor = auth.is_editor()
    for d in dirs:
        auc = d.get("auc")
        detail = ("yours, only you see it" if d["mine"] else f"{d.get('source')}") + f" · {d['reliability']}" + (
            f" (AUC {auc:.2f})" if isinstance(auc, int | float) else "")
        share = (dbc.Button("Share", id={"type": ids.DIR_PROMOTE_TYPE, "name": d["name"]}, size="sm", color="link",
                            class_name="p-0 ms-2 small") if d["mine"] and editor else None)
        rows.append(
            html.Div(
                [
                    html.Div([html.Span(d["name"], className="fw-semibold"), html.Span(detail, className="small text-muted ms-2"),
                              share]),
                    dcc.Slider(id={"type": ids.DIR_SLIDER_TYPE, "name": d["key"]}, min=search.SLIDER_MIN, max=search.SLIDER_MAX,
                               step=0.05, value=0, marks={-1: "without", 0: "as it is", 1: "with"},
                               updatemode="mouseup"),
                ],
                className="mb-2",
            )
        )
    if not rows:
        rows.append(html.P("No directions yet. Collect positive and negative examples on the Explore map.",
                           className="small text-muted"))
    notes = [dbc.Alert(p, color="warning", class_name="small py-1 mb-1") for p in problems]
    return dbc.Card(
        [dbc.CardHeader(html.Span("Steer the results", className="fw-semibold")),
         dbc.CardBody([*rows, *notes, html.Div(id=ids.SEARCH_PROMOTE_MESSAGE), _feedback_saver()])],
        class_name="shadow-sm",
        id=ids.SEARCH_DIRECTIONS,
    )


def _feedback_saver() -> html.Div:
    """Save the thumbs of the results as a direction's examples."""
    return html.Div(
        [
            html.Div("Save your 👍 / 👎 as a direction", className="small fw-semibold mt-2 mb-1"),
            dbc.InputGroup([dbc.Input(id=ids.SEARCH_FEEDBACK_NAME, placeholder="direction name", maxLength=80),
                            dbc.Button("Save", id=ids.SEARCH_FEEDBACK_SAVE, color="secondary", outline=True)],
                           size="sm"),
            html.Div(id=ids.SEARCH_FEEDBACK_MESSAGE, className="mt-1"),
        ]
    )


def _vote_buttons(item_id: str, vote: str | None) -> html.Div:
    return html.Div(
        [dbc.Button("👍", id={"type": ids.SEARCH_VOTE_TYPE, "item": item_id, "vote": "up"}, size="sm",
                    color="success", outline=vote != "up", class_name="py-0 px-1", title="More like this"),
         dbc.Button("👎", id={"type": ids.SEARCH_VOTE_TYPE, "item": item_id, "vote": "down"}, size="sm",
                    color="danger", outline=True, class_name="py-0 px-1", title="Less like this")],
        className="d-flex gap-1 mt-1",
    )


def layout(item: str | None = None, **query: Any) -> html.Div:
    """Search; ``?item=<id>`` starts from a catalog item; ``f_*`` parameters filter the results."""
    ws = open_workspace()
    header = ui.page_header("Find similar pieces", "Start from a photo, an address or any item in the catalog.")
    guard = ui.page_guard(ws, header, ids.PAGE_SEARCH, "similarity/default",
                          ("No similarity index yet", "Search needs the tuned similarity index.", ids.SEARCH_MISSING))
    if guard is not None or ws is None:
        return guard
    dirs, problems = search.directions(ws, auth.scratch_id())
    initial: dict[str, Any] | None = None
    message: Any = None
    if item:
        try:
            initial = search.query_from_item(ws, item)
        except search.SearchError as exc:
            message = ui.alert(str(exc), "warning", id=ids.SEARCH_MESSAGE_ALERT)
    return html.Div(
        [
            header,
            dbc.Row(
                [
                    dbc.Col([_query_panel(), _sliders(dirs, problems)], lg=4),
                    dbc.Col(
                        [
                            filterbar.bar(ws, query)[0],
                            html.Div(message, id=ids.SEARCH_MESSAGE),
                            html.Div(
                                [
                                    html.Div(id=ids.SEARCH_SUMMARY, className="small text-muted"),
                                    html.Div([
                                        dbc.Button("＋ all to the open board", id=ids.SEARCH_ADD_BOARD, size="sm",
                                                   color="link", class_name="p-0 me-3"),
                                        boards.export_form("results", ids.SEARCH_EXPORT, "search results"),
                                    ], className="d-flex align-items-center"),
                                ],
                                className="d-flex justify-content-between flex-wrap gap-2 mb-2",
                            ),
                            dcc.Loading(html.Div(id=ids.SEARCH_RESULTS), type="dot", delay_show=400),
                        ],
                        lg=8,
                    ),
                ],
                class_name="g-3",
            ),
            dcc.Store(id=ids.SEARCH_QUERY, data=initial),
            dcc.Store(id=ids.SEARCH_MARKS, data=None),
            dcc.Store(id=ids.SEARCH_COLOUR_QUERY, data=None),
            dcc.Store(id=ids.SEARCH_RESULT_IDS, data=[]),
        ],
        id=ids.PAGE_SEARCH,
    )


@callback(
    Output(ids.SEARCH_QUERY, "data"),
    Output(ids.SEARCH_MESSAGE, "children"),
    Input(ids.SEARCH_UPLOAD, "contents"),
    Input(ids.SEARCH_URL_GO, "n_clicks"),
    Input(ids.SEARCH_URL, "n_submit"),
    State(ids.SEARCH_UPLOAD, "filename"),
    State(ids.SEARCH_URL, "value"),
    prevent_initial_call=True,
)
def _new_query(contents: str | None, _go: int | None, _submit: int | None, filename: str | None,
               url: str | None) -> tuple[Any, Any]:
    ws = open_workspace()
    if ws is None:
        return no_update, ui.alert("The workspace is missing.", "danger")
    if (refused := ratelimit.refusal("query")) is not None:
        return no_update, ui.alert(refused, "warning", id=ids.SEARCH_MESSAGE_ALERT)
    try:
        if ctx.triggered_id == ids.SEARCH_UPLOAD:
            data = search.decode_upload(contents, max_upload_bytes())
            q = search.query_from_bytes(ws, data, filename or "upload")
        else:
            q, _ = search.query_from_url(ws, url, max_upload_bytes())
    except search.SearchError as exc:
        return no_update, ui.alert(str(exc), "danger", id=ids.SEARCH_MESSAGE_ALERT)
    return q, None


@callback(
    Output(ids.SEARCH_RESULTS, "children"),
    Output(ids.SEARCH_SUMMARY, "children"),
    Output(ids.SEARCH_QUERY_VIEW, "children"),
    Output(ids.SEARCH_RESULT_IDS, "data"),
    Input(ids.SEARCH_QUERY, "data"),
    Input({"type": ids.DIR_SLIDER_TYPE, "name": ALL}, "value"),
    Input(ids.SEARCH_MARKS, "data"),
    Input(ids.SEARCH_COLOUR_QUERY, "data"),
    Input(ids.FILTER_STATE, "data"),
    State({"type": ids.DIR_SLIDER_TYPE, "name": ALL}, "id"),
)
def _results(q: dict[str, Any] | None, values: list[float | None], marks: Any, colour: Any,
             filter_state: dict[str, Any] | None, slider_ids: list[dict[str, str]]) -> tuple[Any, Any, Any, Any]:
    if not q and not colour:
        return (ui.empty_state("No query yet", "Drop a photo, paste an address, pick a colour, or use “Find similar” "
                               "on any item.", icon="⌕", id=ids.SEARCH_EMPTY), None, None, [])
    ws = open_workspace()
    if ws is None:
        return no_update, no_update, no_update, no_update
    t0 = time.perf_counter()
    weights = search.clean_weights([i["name"] for i in slider_ids], values)
    active = filterbar.parse(ws, filter_state)[0]
    try:
        results, notes = refine.results(ws, q, weights, marks, colour, scratch=auth.scratch_id(),
                                        allowed=filterbar.allowed(ws, active))
    except search.SearchError as exc:
        return ui.alert(str(exc), "danger"), None, no_update, []
    ms = (time.perf_counter() - t0) * 1000
    cat = catalog(ws)
    cards = [ui.item_card(r["item_id"], r["label"] or "unlabelled",
                          badge=f"ΔE {r['delta_e']:.1f}" if r["delta_e"] is not None and not q else f"{r['score']:.2f}",
                          extra=_vote_buttons(r["item_id"], r["vote"]) if q else None)
             for r in results]
    shift = ", ".join(f"{n} {w:+.1f}" for n, w in weights.items())
    summary = (f"{len(results)} results" + (f" shifted by {shift}" if shift else "")
               + "".join(f" · {n}" for n in notes)
               + (f" · filtered: {active.describe()}" if not active.is_empty() else "") + f" · {ms:.0f} ms")
    view = html.Div(
        [
            html.Img(src=q.get("preview"), className="query-image mb-2", id=ids.SEARCH_QUERY_IMAGE) if q.get("preview") else None,
            html.Div(q.get("title") or "", className="fw-semibold text-truncate"),
            dcc.Link("Open item", href=with_collection(f"/item/{q['item_id']}"), className="small")
            if q.get("item_id") and q["item_id"] in cat else None,
        ]
    ) if q else None
    ranked = [{"item_id": r["item_id"], "score": round(float(r["score"]), 4)} for r in results]
    return ui.gallery(cards, id=ids.SEARCH_GALLERY), summary, view, ranked


clientside_callback(
    """
    function(ranked) {
        ranked = ranked || [];
        return [ranked.map(r => r.item_id).join(","), ranked.map(r => r.score).join(",")];
    }
    """,
    Output({"type": ids.EXPORT_FORM_TYPE, "kind": "results"}, "value"),
    Output({"type": ids.EXPORT_FORM_TYPE, "kind": "results-scores"}, "value"),
    Input(ids.SEARCH_RESULT_IDS, "data"),
)


@callback(
    Output(ids.BOARD_ADD_MESSAGE, "children", allow_duplicate=True),
    Input(ids.SEARCH_ADD_BOARD, "n_clicks"),
    State(ids.SEARCH_RESULT_IDS, "data"),
    State(ids.ACTIVE_BOARD, "data"),
    prevent_initial_call=True,
)
def _results_to_board(_n: int | None, ranked: list[dict[str, Any]] | None, active: Any) -> Any:
    """Every result shown onto the open board, best first."""
    if not _n:
        return no_update
    ws = open_workspace()
    if ws is None:
        return no_update
    item_ids = [str(r.get("item_id")) for r in (ranked or [])[: search.DEFAULT_K] if isinstance(r, dict)]
    message, colour = boards.add_to_board(ws, boards.active_board(active), item_ids)
    return ui.alert(message, colour, id="board-add-alert", duration=4000)


@callback(
    Output(ids.SEARCH_MARKS, "data"),
    Input({"type": ids.SEARCH_VOTE_TYPE, "item": ALL, "vote": ALL}, "n_clicks"),
    State(ids.SEARCH_MARKS, "data"),
    State(ids.SEARCH_QUERY, "data"),
    prevent_initial_call=True,
)
def _vote(clicks: list[int | None], marks: Any, q: dict[str, Any] | None) -> Any:
    """A thumb on a result: the marks of this query (toggled); nothing is stored on the server."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks) or not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update
    try:
        return refine.toggle(marks, q, trigger.get("item"), trigger.get("vote"))
    except StyleAtlasError:
        return no_update


@callback(
    Output(ids.SEARCH_COLOUR_QUERY, "data"),
    Output(ids.SEARCH_COLOUR_VIEW, "children"),
    Input(ids.SEARCH_COLOUR_GO, "n_clicks"),
    Input(ids.SEARCH_SWATCH, "contents"),
    Input(ids.SEARCH_COLOUR_CLEAR, "n_clicks"),
    State(ids.SEARCH_COLOUR, "value"),
    prevent_initial_call=True,
)
def _colour(_go: int | None, swatch: str | None, _clear: int | None, value: str | None) -> tuple[Any, Any]:
    if ctx.triggered_id == ids.SEARCH_COLOUR_CLEAR:
        return None, None
    try:
        data = (refine.colour_from_upload(swatch, max_upload_bytes()) if ctx.triggered_id == ids.SEARCH_SWATCH
                else refine.colour_from_hex(value))
    except search.SearchError as exc:
        return no_update, ui.alert(str(exc), "danger")
    chips = [html.Span(style={"background": h, "display": "inline-block", "width": "1rem", "height": "1rem",
                              "borderRadius": "3px", "marginRight": "3px", "verticalAlign": "middle"}) for h in data["hex"]]
    return data, html.Span([*chips, " colour in the query"])


@callback(
    Output(ids.SEARCH_FEEDBACK_MESSAGE, "children"),
    Input(ids.SEARCH_FEEDBACK_SAVE, "n_clicks"),
    State(ids.SEARCH_FEEDBACK_NAME, "value"),
    State(ids.SEARCH_MARKS, "data"),
    State(ids.SEARCH_QUERY, "data"),
    prevent_initial_call=True,
)
def _save_feedback(_n: int | None, name: str | None, marks: Any, q: dict[str, Any] | None) -> Any:
    """Save the thumbs as a direction: shared for an editor, the visitor's scratch otherwise."""
    ws = open_workspace()
    if ws is None:
        return ui.alert("The workspace is missing.", "danger")
    editor = auth.is_editor()
    if not editor and (refused := ratelimit.refusal("scratch")) is not None:
        return ui.alert(refused, "warning")
    message, colour = refine.save_direction(ws, name, marks, q, editor, auth.scratch_id(create=not editor))
    return ui.alert(message, colour, id=ids.SEARCH_FEEDBACK_MESSAGE + "-alert")


@callback(
    Output(ids.SEARCH_QUERY_CLUSTER, "children"),
    Input(ids.SEARCH_QUERY, "data"),
)
def _cluster(q: dict[str, Any] | None) -> Any:
    ws = open_workspace()
    if ws is None or not q or not ws.has("clusters/default"):
        return None
    text = search.cluster_text(search.query_cluster(ws, q), clusterdata.display_names(ws))
    return html.Span(text, id=ids.SEARCH_CLUSTER_TEXT) if text else None


@callback(
    Output(ids.SEARCH_PROMOTE_MESSAGE, "children"),
    Input({"type": ids.DIR_PROMOTE_TYPE, "name": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def _promote(clicks: list[int | None]) -> Any:
    """An editor shares one of their own directions with every visitor."""
    if not any(clicks) or not isinstance(ctx.triggered_id, dict):
        return no_update
    if (refused := auth.refusal("share directions")) is not None:
        return ui.alert(refused, "warning", id=ids.PROMOTE_ALERT)
    ws = open_workspace()
    if ws is None:
        return ui.alert("The workspace is missing.", "danger")
    message, colour = search.promote(ws, auth.scratch_id(), str(ctx.triggered_id["name"]))
    return ui.alert(message, colour, id=ids.PROMOTE_ALERT)
