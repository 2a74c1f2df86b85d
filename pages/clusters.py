"""Clusters: a gallery per discovered category, names a stylist can edit, novel items.

``/clusters`` lists every cluster; ``/clusters?cluster=3`` opens one (paged, representatives
first); ``/clusters?view=novel`` shows what the novelty detector flagged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import dash
import dash_bootstrap_components as dbc
from dash import MATCH, Input, Output, State, callback, dcc, html, no_update

from components import auth, clusterdata, clusters, filterbar, ids, ui
from components.data import open_workspace, visible
from components.links import with_collection
from core.filters import PREFIX, Filter
from core.workspace import Workspace

dash.register_page(__name__, path="/clusters", name="Clusters", title="Style Atlas · Clusters", nav_order=2)


def _one_cluster(ws: Workspace, c: int, active: Filter) -> html.Div:
    rows = {r["cluster"]: r for r in clusters.cluster_rows(ws)}
    row = rows[c]
    item_ids = filterbar.passing(ws, active, clusters.member_order(ws, c))
    conf = f"{row['mean_confidence']:.2f}" if row["mean_confidence"] is not None else "—"
    return html.Div(
        [
            dcc.Link("← All clusters", href=with_collection("/clusters"), className="small"),
            ui.page_header(f"Cluster {c}", f"{row['size']} photos · mean confidence {conf} · automatic name “{row['auto_name']}”"
                           + ("" if active.is_empty() else f" · {len(item_ids)} pass the filter")),
            html.Div(clusters.name_editor(c, row["name"], row["auto_name"]), className="mb-3"),
            html.Div(ui.gallery(clusters.confidence_cards(ws, clusters.page_slice(item_ids, 1))), id=ids.CLUSTER_GALLERY),
            dbc.Pagination(id=ids.CLUSTER_PAGES, max_value=clusters.page_count(len(item_ids)), active_page=1,
                           fully_expanded=False, first_last=True, previous_next=True, class_name="mt-3")
            if len(item_ids) > clusters.PER_PAGE else None,
            dcc.Store(id=ids.CLUSTER_CURRENT, data=c),
        ],
        id=ids.CLUSTER_DETAIL,
    )


def _novel(ws: Workspace, active: Filter) -> html.Div:
    assign = clusterdata.assignments(ws)
    item_ids = [] if assign is None else visible(ws, assign[assign["novel"]].sort_values("confidence")["item_id"].tolist())
    item_ids = filterbar.passing(ws, active, item_ids)
    body: Any = (
        ui.gallery(clusters.confidence_cards(ws, item_ids[:120]), id=ids.NOVEL_GALLERY)
        if item_ids
        else ui.empty_state("Nothing flagged", "The novelty detector found no unusual photos in this run.")
    )
    return html.Div(
        [
            html.P(f"{len(item_ids)} photos sit far from every cluster centre or have a low confidence; "
                   "they are candidates for a new category." + (" The 120 least typical are shown." if len(item_ids) > 120 else ""),
                   className="text-muted"),
            body,
        ]
    )


def layout(cluster: str | None = None, view: str | None = None, **query: Any) -> html.Div:
    """All clusters, one cluster (``?cluster=<id>``) or the novel items (``?view=novel``); the
    filter bar's ``f_*`` parameters thin every gallery."""
    ws = open_workspace()
    header = ui.page_header("Clusters", "Categories discovered in the collection, without labels.")
    guard = ui.page_guard(ws, header, ids.PAGE_CLUSTERS, "clusters/default",
                          ("No clusters yet", "The collection has not been clustered.", ids.CLUSTERS_MISSING))
    if guard is not None or ws is None:
        return guard
    rows = clusters.cluster_rows(ws)
    filter_bar, active = filterbar.bar(ws, query)
    nav = dcc.Location(id=ids.CLUSTERS_NAV, refresh="callback-nav")
    if cluster is not None:
        c = clusters.parse_cluster(cluster, {r["cluster"] for r in rows})
        if c is None:
            return html.Div(ui.not_found("cluster", str(cluster), back_href=with_collection("/clusters"), back_label="See all clusters"),
                            id=ids.PAGE_CLUSTERS)
        return html.Div([filter_bar, _one_cluster(ws, c, active), nav], id=ids.PAGE_CLUSTERS)
    tabs = dbc.Tabs(
        [
            dbc.Tab(
                html.Div([
                    html.Div(clusters.level_control(len(rows)), className="mt-3"),
                    html.Div(clusters.grid(ws, len(rows), active), id=ids.CLUSTERS_GRID),
                ]),
                label=f"All clusters ({len(rows)})",
                tab_id="all",
            ),
            dbc.Tab(html.Div(_novel(ws, active), className="mt-3"), label="Novel items", tab_id="novel", id=ids.NOVEL_TAB),
        ],
        active_tab="novel" if view == "novel" else "all",
        id=ids.CLUSTERS_TABS,
    )
    return html.Div(
        [
            header,
            dbc.Row(clusters.summary_badges(ws), class_name="g-3 mb-3"),
            filter_bar,
            tabs,
            nav,
        ],
        id=ids.PAGE_CLUSTERS,
    )


@callback(
    Output({"type": ids.CLUSTER_NAME_STATUS_TYPE, "cluster": MATCH}, "children"),
    Input({"type": ids.CLUSTER_SAVE_TYPE, "cluster": MATCH}, "n_clicks"),
    Input({"type": ids.CLUSTER_NAME_TYPE, "cluster": MATCH}, "n_submit"),
    State({"type": ids.CLUSTER_NAME_TYPE, "cluster": MATCH}, "value"),
    State({"type": ids.CLUSTER_NAME_TYPE, "cluster": MATCH}, "id"),
    prevent_initial_call=True,
)
def _rename(_clicks: int | None, _submit: int | None, name: str | None, ident: dict[str, Any]) -> Any:
    ws = open_workspace()
    status_id = f"rename-status-{ident['cluster']}".replace(":", "-")
    if (refused := auth.refusal("rename clusters")) is not None:
        return html.Span(refused, className="text-danger", id=status_id)
    if ws is None:
        return html.Span("The workspace is missing.", className="text-danger")
    key = clusters.parse_editor_key(ident.get("cluster"))
    if key is None:
        return html.Span("There is no such cluster.", className="text-danger", id=status_id)
    message, colour = clusters.rename(ws, key[0], name, level=key[1])
    return html.Span(message, className=f"text-{colour}", id=status_id)


@callback(
    Output(ids.CLUSTERS_GRID, "children"),
    Input(ids.CLUSTERS_LEVEL, "value"),
    State(ids.FILTER_STATE, "data"),
    prevent_initial_call=True,
)
def _recut(level: Any, filter_state: dict[str, Any] | None) -> Any:
    ws = open_workspace()
    if ws is None:
        return dash.no_update
    k = clusterdata.n_levels(ws)
    if not k:
        return dash.no_update
    return clusters.grid(ws, clusterdata.parse_level(level, k), filterbar.parse(ws, filter_state)[0])


@callback(
    Output(ids.CLUSTER_GALLERY, "children"),
    Input(ids.CLUSTER_PAGES, "active_page"),
    State(ids.CLUSTER_CURRENT, "data"),
    State(ids.FILTER_STATE, "data"),
    prevent_initial_call=True,
)
def _page(page: int | None, c: int, filter_state: dict[str, Any] | None) -> Any:
    ws = open_workspace()
    if ws is None:
        return dash.no_update
    item_ids = filterbar.passing(ws, filterbar.parse(ws, filter_state)[0], clusters.member_order(ws, int(c)))
    return ui.gallery(clusters.confidence_cards(ws, clusters.page_slice(item_ids, page)))


@callback(
    Output(ids.CLUSTERS_NAV, "search"),
    Input(ids.FILTER_STATE, "data"),
    State(ids.CLUSTERS_NAV, "search"),
    prevent_initial_call=True,
)
def _refilter(state: dict[str, Any] | None, search: str | None) -> Any:
    """A new filter re-draws the page's galleries (the page's own parameters kept)."""
    kept = [(k, v) for k, v in parse_qsl((search or "").lstrip("?")) if not k.startswith(PREFIX)]
    new = "?" + urlencode(kept + sorted((state or {}).items()))
    return new if new != (search or "?") else no_update
