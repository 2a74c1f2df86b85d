"""The Clusters page's logic: cluster cards, paged member galleries, names, novel items."""

from __future__ import annotations

import math
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import clusterdata, filterbar, ids, ui
from components.auth import is_editor
from components.data import catalog, visible
from components.links import with_collection
from core.annotations import Annotations
from core.cluster.hierarchy import names_key
from core.errors import StyleAtlasError
from core.filters import Filter
from core.workspace import Workspace

PER_PAGE = 24
PREVIEW = 6


def parse_cluster(value: object, known: set[int]) -> int | None:
    """A cluster id from the URL, or None when it is not one of ``known``."""
    try:
        c = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return c if c in known else None


def cluster_rows(ws: Workspace, run_id: str = "default") -> list[dict[str, Any]]:
    """One dict per cluster: cluster, name, auto_name, renamed, size, mean_confidence,
    representatives, n_novel (largest cluster first)."""
    tab = clusterdata.table(ws, run_id)
    if tab is None:
        return []
    names = clusterdata.display_names(ws, run_id)
    rows = []
    for r in tab.itertuples():
        c = int(r.cluster)
        rows.append(
            {
                "cluster": c,
                "name": names.get(c, r.auto_name),
                "auto_name": r.auto_name,
                "renamed": names.get(c, r.auto_name) != r.auto_name,
                "size": int(r.size),
                "mean_confidence": None if r.mean_confidence is None or math.isnan(r.mean_confidence)
                else float(r.mean_confidence),
                "representatives": list(r.representatives),
                "n_novel": len(r.novel_ids),
            }
        )
    return sorted(rows, key=lambda d: (-d["size"], d["cluster"]))


def group_rows(ws: Workspace, level: int, run_id: str = "default") -> list[dict[str, Any]]:
    """The cluster rows at granularity ``level`` (1..k): at k, :func:`cluster_rows`; coarser, one
    row per group (``cluster`` is its tree node) with the same keys, representatives taken
    from its largest clusters, largest group first."""
    k = clusterdata.n_levels(ws, run_id)
    fine = cluster_rows(ws, run_id)
    if level == k:
        return fine
    by_id = {r["cluster"]: r for r in fine}
    rows = []
    for g in clusterdata.level_groups(ws, level, run_id):
        parts = sorted((by_id[j] for j in g["leaves"] if j in by_id), key=lambda r: -r["size"])
        reps = [i for r in parts for i in r["representatives"][:2]] + [i for r in parts for i in r["representatives"][2:]]
        confs = [(r["mean_confidence"], r["size"]) for r in parts if r["mean_confidence"] is not None]
        rows.append({
            "cluster": g["node"], "name": g["name"], "auto_name": g["auto_name"], "renamed": g["name"] != g["auto_name"],
            "size": g["size"], "representatives": reps, "n_novel": sum(r["n_novel"] for r in parts),
            "mean_confidence": (sum(c * n for c, n in confs) / max(sum(n for _, n in confs), 1)) if confs else None,
            "leaves": g["leaves"],
        })
    return sorted(rows, key=lambda d: (-d["size"], d["cluster"]))


def member_order(ws: Workspace, c: int, run_id: str = "default") -> list[str]:
    """Members of cluster ``c``: representatives first, then by confidence, highest first."""
    assign = clusterdata.assignments(ws, run_id)
    tab = clusterdata.table(ws, run_id)
    if assign is None or tab is None:
        return []
    members = assign[assign["cluster"] == c].sort_values("confidence", ascending=False, kind="stable")
    item_ids = members["item_id"].tolist()
    reps = [i for i in tab.loc[tab["cluster"] == c, "representatives"].iloc[0] if i in set(item_ids)] if (tab["cluster"] == c).any() else []
    rest = [i for i in item_ids if i not in set(reps)]
    return visible(ws, reps + rest)


def page_count(n: int, per_page: int = PER_PAGE) -> int:
    """Pages needed for ``n`` items (at least 1)."""
    return max(1, math.ceil(n / per_page))


def page_slice(item_ids: list[str], page: int | None, per_page: int = PER_PAGE) -> list[str]:
    """The ids on 1-based ``page`` (clamped to the valid range)."""
    pages = page_count(len(item_ids), per_page)
    p = min(max(int(page or 1), 1), pages)
    return item_ids[(p - 1) * per_page: p * per_page]


def rename(ws: Workspace, c: int, name: str | None, run_id: str = "default", level: int | None = None) -> tuple[str, str]:
    """Save the stylist's name of cluster ``c`` (blank restores the automatic name); with
    ``level`` (a granularity below k), of group ``c`` (a tree node) at that level.

    The members are saved with the name so it follows the cluster when the pipeline re-runs,
    and the level with it, so the name stays at the level it was given. Returns ``(message,
    bootstrap colour)``.
    """
    k = clusterdata.n_levels(ws, run_id)
    n = k if level is None else level
    if not 1 <= n <= k:
        return f"There is no granularity {n}.", "danger"
    members = clusterdata.members(ws, run_id) if n == k else clusterdata.group_members(ws, n, run_id)
    if c not in members:
        return f"There is no cluster {c}.", "danger"
    try:
        Annotations(ws.annotations_path).set_cluster_name(names_key(run_id, n, k), c, name or "", members=members[c])
    except StyleAtlasError as exc:
        return str(exc), "danger"
    if not (name or "").strip():
        return "Name cleared; the automatic name is back.", "secondary"
    return "Saved.", "success"


def confidence_cards(ws: Workspace, item_ids: list[str], run_id: str = "default") -> list[Any]:
    """Gallery cards with each item's confidence as the subtitle."""
    assign = clusterdata.assignments(ws, run_id)
    conf = dict(zip(assign["item_id"], assign["confidence"], strict=True)) if assign is not None else {}
    cat = catalog(ws)
    return [
        ui.item_card(i, cat.label(i) or "unlabelled", subtitle=f"confidence {conf[i]:.2f}" if i in conf else None)
        for i in item_ids
    ]


def editor_key(c: int, level: int | None = None) -> int | str:
    """The ``cluster`` value of a name editor's ids: ``c`` for a fine cluster, ``"<level>:<node>"``
    for a group of a coarser cut."""
    return c if level is None else f"{level}:{c}"


def parse_editor_key(value: object) -> tuple[int, int | None] | None:
    """``(cluster or node, level or None)`` from a name editor's ``cluster`` id value (from the
    browser, so checked); None when it is neither form."""
    text = str(value).strip()
    level, _, node = text.rpartition(":")
    try:
        return (int(node), int(level) if level else None) if node else None
    except ValueError:
        return None


def name_editor(c: int, name: str, auto_name: str, level: int | None = None) -> html.Div:
    """An input to rename cluster ``c`` (or group ``c`` at granularity ``level``; pattern-matching
    ids), with its save button and status; read-only for a viewer (the rename callback refuses
    them too)."""
    editable = is_editor()
    c = editor_key(c, level)  # type: ignore[assignment]
    return html.Div(
        [
            dbc.InputGroup(
                [
                    dbc.Input(id={"type": ids.CLUSTER_NAME_TYPE, "cluster": c}, value=name, maxLength=80,
                              placeholder=auto_name, class_name="fw-semibold", disabled=not editable),
                    dbc.Button("Save", id={"type": ids.CLUSTER_SAVE_TYPE, "cluster": c}, color="primary", outline=True,
                               disabled=not editable),
                ],
                size="sm",
                class_name="cluster-name-input",
            ),
            html.Div(None if editable else "Editors sign in to rename clusters.",
                     id={"type": ids.CLUSTER_NAME_STATUS_TYPE, "cluster": c}, className="small mt-1 text-muted"),
        ]
    )


def overview_card(ws: Workspace, row: dict[str, Any], level: int | None = None,
                  passing: set[str] | None = None) -> dbc.Card:
    """One cluster in the grid (or, with ``level``, one group of that cut: its clusters are
    linked): name editor, numbers, representative thumbnails (``passing``: only those that pass
    the filter bar), link."""
    c = row["cluster"]
    if level is not None:
        return _group_card(ws, row, level, passing)
    conf = f"{row['mean_confidence']:.2f}" if row["mean_confidence"] is not None else "—"
    cat = catalog(ws)
    thumbs = [ui.item_card(i, cat.label(i) or "unlabelled") for i in _passing(visible(ws, row["representatives"]), passing)[:PREVIEW]]
    return dbc.Card(
        [
            dbc.CardHeader(
                html.Div(
                    [
                        html.Span(f"Cluster {c}", className="text-muted small me-2"),
                        html.Span(f"{row['size']} photos · confidence {conf}"
                                  + (f" · {row['n_novel']} novel" if row["n_novel"] else ""), className="small"),
                    ]
                )
            ),
            dbc.CardBody(
                [
                    name_editor(c, row["name"], row["auto_name"]),
                    html.Div(ui.gallery(thumbs, min_width=90), className="mt-2"),
                    dcc.Link(f"Open all {row['size']} →", href=with_collection(f"/clusters?cluster={c}"), className="small",
                             id=f"open-cluster-{c}"),
                ]
            ),
        ],
        class_name="shadow-sm h-100",
        id=f"cluster-card-{c}",
    )


def _passing(item_ids: list[str], passing: set[str] | None) -> list[str]:
    """``item_ids`` that pass the filter bar (all of them without a filter)."""
    return item_ids if passing is None else [i for i in item_ids if i in passing]


def _group_card(ws: Workspace, row: dict[str, Any], level: int, passing: set[str] | None = None) -> dbc.Card:
    cat = catalog(ws)
    reps = _passing(visible(ws, row["representatives"]), passing)
    thumbs = [ui.item_card(i, cat.label(i) or "unlabelled") for i in reps[:PREVIEW]]
    links = [dcc.Link(f"cluster {j}", href=with_collection(f"/clusters?cluster={j}"), className="small me-2") for j in row["leaves"]]
    return dbc.Card(
        [
            dbc.CardHeader(html.Span(f"{len(row['leaves'])} clusters · {row['size']} photos", className="small")),
            dbc.CardBody(
                [
                    name_editor(row["cluster"], row["name"], row["auto_name"], level),
                    html.Div(ui.gallery(thumbs, min_width=90), className="mt-2"),
                    html.Div(links, className="mt-1"),
                ]
            ),
        ],
        class_name="shadow-sm h-100",
        id=f"group-card-{row['cluster']}",
    )


def level_control(k: int, value: int | None = None, id: str = ids.CLUSTERS_LEVEL) -> html.Div:  # noqa: A002
    """A slider from 1 group to the ``k`` fine clusters: the tree is re-cut, nothing re-trained."""
    marks = {n: str(n) for n in sorted({1, k, *range(1, k + 1, max(1, k // 6))})}
    return html.Div(
        [
            dbc.Label("Granularity: groups of clusters", class_name="small fw-semibold mb-0"),
            dcc.Slider(id=id, min=1, max=k, step=1, value=value or k, marks=marks,
                       tooltip={"placement": "bottom", "always_visible": False}),
        ],
        className="mb-2",
        style={"minWidth": "16rem"},
    )


def grid(ws: Workspace, level: int, active: Filter | None = None) -> dbc.Row:
    """The cards of the cut at ``level`` (the fine clusters at k); with an ``active`` filter
    their thumbnails are those that pass it."""
    k = clusterdata.n_levels(ws)
    rows = group_rows(ws, level)
    passing = (None if active is None or active.is_empty()
               else set(filterbar.passing(ws, active, [i for r in rows for i in r["representatives"]])))
    return dbc.Row([dbc.Col(overview_card(ws, r, None if level == k else level, passing), lg=6, xxl=4) for r in rows],
                   class_name="g-3 mt-1")


def summary_badges(ws: Workspace, run_id: str = "default") -> list[Any]:
    """k, epochs, items and (with labels) NMI / ACC as small stat cards."""
    s = clusterdata.summary(ws, run_id) or {}
    scores = s.get("scores") or {}
    base = (s.get("baseline") or {}) if isinstance(s.get("baseline"), dict) else {}
    cards = [
        ui.stat_card("Clusters", s.get("k", "—")),
        ui.stat_card("Photos", f"{s.get('n_items', 0):,}"),
        ui.stat_card("Epochs", s.get("epochs", "—"), "stopped: " + str(s.get("stopped")) if s.get("stopped") else None),
    ]
    if scores:
        hint = None
        if isinstance(base.get("nmi"), int | float):
            hint = f"plain k-means {base['nmi']:.2f}"
            pooled = base.get("pooled")
            if isinstance(pooled, dict) and isinstance(pooled.get("nmi"), int | float):
                hint += f" (same features) · {pooled['nmi']:.2f} ({pooled.get('features', 'pooled')})"
        cards.append(ui.stat_card("NMI vs labels", f"{scores.get('nmi', 0):.2f}", hint))
    return [dbc.Col(card, md=3) for card in cards]
