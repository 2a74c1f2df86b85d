"""Clusters: a gallery per discovered category, names a stylist can edit, novel items.

``/clusters`` lists every cluster; ``/clusters?cluster=3`` opens one (paged, representatives
first); ``/clusters?view=novel`` shows what the novelty detector flagged.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import MATCH, Input, Output, State, callback, dcc, html

from components import auth, clusterdata, clusters, ui
from components.data import open_workspace
from core.workspace import Workspace, build_command

dash.register_page(__name__, path="/clusters", name="Clusters", title="Style Atlas · Clusters", nav_order=2)


def _one_cluster(ws: Workspace, c: int) -> html.Div:
    rows = {r["cluster"]: r for r in clusters.cluster_rows(ws)}
    row = rows[c]
    ids = clusters.member_order(ws, c)
    conf = f"{row['mean_confidence']:.2f}" if row["mean_confidence"] is not None else "—"
    return html.Div(
        [
            dcc.Link("← All clusters", href="/clusters", className="small"),
            ui.page_header(f"Cluster {c}", f"{row['size']} photos · mean confidence {conf} · automatic name “{row['auto_name']}”"),
            html.Div(clusters.name_editor(c, row["name"], row["auto_name"]), className="mb-3"),
            html.Div(ui.gallery(clusters.confidence_cards(ws, clusters.page_slice(ids, 1))), id="cluster-gallery"),
            dbc.Pagination(id="cluster-pages", max_value=clusters.page_count(len(ids)), active_page=1,
                           fully_expanded=False, first_last=True, previous_next=True, class_name="mt-3")
            if len(ids) > clusters.PER_PAGE else None,
            dcc.Store(id="cluster-current", data=c),
        ],
        id="cluster-detail",
    )


def _novel(ws: Workspace) -> html.Div:
    assign = clusterdata.assignments(ws)
    ids = [] if assign is None else assign[assign["novel"]].sort_values("confidence")["item_id"].tolist()
    body: Any = (
        ui.gallery(clusters.confidence_cards(ws, ids[:120]), id="novel-gallery")
        if ids
        else ui.empty_state("Nothing flagged", "The novelty detector found no unusual photos in this run.")
    )
    return html.Div(
        [
            html.P(f"{len(ids)} photos sit far from every cluster centre or have a low confidence; "
                   "they are candidates for a new category." + (" The 120 least typical are shown." if len(ids) > 120 else ""),
                   className="text-muted"),
            body,
        ]
    )


def layout(cluster: str | None = None, view: str | None = None, **_query: Any) -> html.Div:
    """All clusters, one cluster (``?cluster=<id>``) or the novel items (``?view=novel``)."""
    ws = open_workspace()
    header = ui.page_header("Clusters", "Categories discovered in the collection, without labels.")
    if ws is None:
        return html.Div([header, ui.no_workspace()],
                        id="page-clusters")
    if not ws.has("clusters/default"):
        return html.Div([header, ui.empty_state("No clusters yet", "The collection has not been clustered.",
                                                command=build_command("clusters/default", ws.root),
                                                id="clusters-missing")], id="page-clusters")
    rows = clusters.cluster_rows(ws)
    if cluster is not None:
        c = clusters.parse_cluster(cluster, {r["cluster"] for r in rows})
        if c is None:
            return html.Div(ui.not_found("cluster", str(cluster), back_href="/clusters", back_label="See all clusters"),
                            id="page-clusters")
        return html.Div(_one_cluster(ws, c), id="page-clusters")
    tabs = dbc.Tabs(
        [
            dbc.Tab(
                dbc.Row([dbc.Col(clusters.overview_card(ws, r), lg=6, xxl=4) for r in rows], class_name="g-3 mt-1"),
                label=f"All clusters ({len(rows)})",
                tab_id="all",
            ),
            dbc.Tab(html.Div(_novel(ws), className="mt-3"), label="Novel items", tab_id="novel", id="novel-tab"),
        ],
        active_tab="novel" if view == "novel" else "all",
        id="clusters-tabs",
    )
    return html.Div(
        [
            header,
            dbc.Row(clusters.summary_badges(ws), class_name="g-3 mb-3"),
            tabs,
        ],
        id="page-clusters",
    )


@callback(
    Output({"type": "cluster-name-status", "cluster": MATCH}, "children"),
    Input({"type": "cluster-save", "cluster": MATCH}, "n_clicks"),
    Input({"type": "cluster-name", "cluster": MATCH}, "n_submit"),
    State({"type": "cluster-name", "cluster": MATCH}, "value"),
    State({"type": "cluster-name", "cluster": MATCH}, "id"),
    prevent_initial_call=True,
)
def _rename(_clicks: int | None, _submit: int | None, name: str | None, ident: dict[str, Any]) -> Any:
    ws = open_workspace()
    status_id = f"rename-status-{ident['cluster']}"
    if (refused := auth.refusal("rename clusters")) is not None:
        return html.Span(refused, className="text-danger", id=status_id)
    if ws is None:
        return html.Span("The workspace is missing.", className="text-danger")
    message, colour = clusters.rename(ws, int(ident["cluster"]), name)
    return html.Span(message, className=f"text-{colour}", id=status_id)


@callback(
    Output("cluster-gallery", "children"),
    Input("cluster-pages", "active_page"),
    State("cluster-current", "data"),
    prevent_initial_call=True,
)
def _page(page: int | None, c: int) -> Any:
    ws = open_workspace()
    if ws is None:
        return dash.no_update
    ids = clusters.member_order(ws, int(c))
    return ui.gallery(clusters.confidence_cards(ws, clusters.page_slice(ids, page)))
