"""The item detail view: large image, metadata, cluster, tags and nearest neighbours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import clusterdata, ids, ui
from components.data import catalog, hidden_ids, is_item_id
from components.images import full_url
from components.links import with_collection
from components.neighbours import neighbours
from core.annotations import Annotations
from core.errors import StyleAtlasError
from core.workspace import Workspace

HIDDEN = {"item_id", "dominant_colour", "source"}


def item_cluster(ws: Workspace, item_id: str, run_id: str = "default") -> dict[str, Any] | None:
    """``{cluster, name, confidence, novel}`` of an item, or None without a clustering."""
    assign = clusterdata.assignments(ws, run_id)
    if assign is None:
        return None
    rows = assign[assign["item_id"] == item_id]
    if rows.empty:
        return None
    rec = rows.iloc[0]
    c = int(rec["cluster"])
    return {
        "cluster": c,
        "name": clusterdata.display_names(ws, run_id).get(c, f"cluster {c}"),
        "confidence": float(rec["confidence"]),
        "novel": bool(rec["novel"]),
    }


def metadata_rows(meta: dict[str, Any]) -> list[tuple[str, Any]]:
    """(field, value) pairs to show for an item, in a readable order."""
    rows: list[tuple[str, Any]] = [("label", meta.get("label") or "unlabelled")]
    if "width" in meta and "height" in meta:
        rows.append(("size", f"{int(meta['width'])} × {int(meta['height'])} px"))
    for key, value in meta.items():
        if key not in HIDDEN and key not in ("label", "width", "height") and str(value) != "":
            rows.append((key.replace("_", " "), value))
    if "source" in meta:
        rows.append(("source", Path(str(meta["source"]).removeprefix("upload:")).name))
    rows.append(("id", meta.get("item_id", "")))
    return rows


def add_tag(ws: Workspace, item_id: str, tag: str | None) -> tuple[list[str], str | None]:
    """Tag one item; returns its tags and an error message (None when it worked)."""
    repo = Annotations(ws.annotations_path)
    if item_id not in catalog(ws):
        return [], "This item is not in the catalog."
    try:
        repo.add_tag([item_id], tag or "")
    except StyleAtlasError as exc:
        return repo.tags_for(item_id), str(exc)
    return repo.tags_for(item_id), None


def tag_badges(tags: list[str]) -> list[Any]:
    """Tags as badges linking nowhere (a tag is a label on this item)."""
    if not tags:
        return [html.Span("No tags yet.", className="text-muted small")]
    return [dbc.Badge(t, color="info", class_name="me-1 tag-badge") for t in tags]


def _details_table(meta: dict[str, Any]) -> dbc.Table:
    """The item's catalog columns and its dominant colour."""
    swatch = meta.get("dominant_colour", "#999999")
    return dbc.Table(
        html.Tbody([html.Tr([html.Th(k, className="text-muted fw-normal"), html.Td(str(v))]) for k, v in metadata_rows(meta)]
                   + [html.Tr([html.Th("colour", className="text-muted fw-normal"),
                               html.Td([html.Span(className="swatch", style={"background": swatch}), f" {swatch}"])])]),
        size="sm",
        borderless=True,
        class_name="mb-2",
        id=ids.ITEM_META,
    )


def _cluster_block(cluster: dict[str, Any] | None) -> Any:
    """Where the item was clustered: a link to its cluster with the confidence."""
    if cluster is None:
        return html.P("Not clustered yet.", className="text-muted small")
    return html.Div(
        [
            dcc.Link(f"Cluster {cluster['cluster']} · {cluster['name']}", href=with_collection(f"/clusters?cluster={cluster['cluster']}"),
                     id=ids.ITEM_CLUSTER_LINK),
            html.Div(
                f"confidence {cluster['confidence']:.2f}" + (" · flagged as novel" if cluster["novel"] else ""),
                className="small text-muted",
            ),
        ]
    )


def _tags_card(tags: list[str]) -> dbc.Card:
    """The item's tags with an input to add one."""
    return dbc.Card(
        [
            dbc.CardHeader("Tags"),
            dbc.CardBody(
                [
                    html.Div(tag_badges(tags), id=ids.ITEM_TAGS, className="mb-2"),
                    dbc.InputGroup(
                        [
                            dbc.Input(id=ids.ITEM_TAG_INPUT, placeholder="Add a tag, e.g. summer edit", maxLength=64),
                            dbc.Button("Add", id=ids.ITEM_TAG_ADD, color="secondary"),
                        ],
                        size="sm",
                    ),
                    html.Div(id=ids.ITEM_TAG_MESSAGE, className="small text-danger mt-1"),
                ]
            ),
        ],
        class_name="shadow-sm mb-3",
    )


def render(ws: Workspace | None, item_id: str) -> html.Div:
    """The detail view, or a not-found view for an unknown id."""
    if ws is None or not is_item_id(item_id) or item_id not in catalog(ws):
        return ui.not_found("item", str(item_id))
    meta = catalog(ws).row(item_id)
    title = str(meta.get("label") or "Unlabelled photo")
    cluster = item_cluster(ws, item_id)
    gone = hidden_ids(ws)
    near, source = neighbours(ws, item_id, k=12 + min(len(gone), 12))
    near = [(n, s) for n, s in near if n not in gone][:12]
    cat = catalog(ws)
    info = _details_table(meta)
    cluster_block = _cluster_block(cluster)
    tags = Annotations(ws.annotations_path).tags_for(item_id)
    near_cards = [
        ui.item_card(n, cat.label(n) or "unlabelled", badge=f"{s:.2f}") for n, s in near
    ]
    return html.Div(
        [
            ui.page_header(
                title,
                f"Item {item_id}",
                right=dbc.Button("Find similar", href=with_collection(f"/search?item={item_id}"), color="primary", id=ids.FIND_SIMILAR),
            ),
            dbc.Row(
                [
                    dbc.Col(html.Div(html.Img(src=full_url(item_id), className="detail-image", id=ids.DETAIL_IMAGE,
                                              alt=title), className="detail-frame"), lg=6),
                    dbc.Col(
                        [
                            dbc.Card([dbc.CardHeader("Details"), dbc.CardBody(info)], class_name="shadow-sm mb-3"),
                            dbc.Card([dbc.CardHeader("Cluster"), dbc.CardBody(cluster_block)], class_name="shadow-sm mb-3"),
                            _tags_card(tags),
                        ],
                        lg=6,
                    ),
                ],
                class_name="g-4 mb-4",
            ),
            html.H4("Looks like this", className="mb-1"),
            html.P(f"Nearest neighbours by the {source}.", className="text-muted small"),
            ui.gallery(near_cards, id=ids.ITEM_NEIGHBOURS) if near_cards
            else ui.empty_state("No neighbours yet", "Neighbours need the item's features.",
                                command=f"python -m core embed --workspace {ws.root}"),
        ]
    )
