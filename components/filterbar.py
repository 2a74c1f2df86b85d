"""The filter bar of Explore, Clusters and Search: controls, the filter they make, what passes.

The filter logic is :mod:`core.filters`; this module draws the controls from the catalog's
facets, turns their values into a :class:`core.filters.Filter` (:func:`from_controls`), keeps it
in the page's ``FILTER_STATE`` store as URL parameters (so the address bar carries it) and
answers which items pass (:func:`keep_for`, :func:`passing`). Tags and boards are read fresh on
every call (people change them); the catalog and the clustering are cached by version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import ALL, Input, Output, callback, clientside_callback, ctx, dcc, html, no_update

from components import clusterdata, ids
from components.boards import reader
from core.annotations import Annotations
from core.filters import NOVELTY, Facets, Filter, facets, mask, parse_params, to_params
from core.item_table import catalog_columns, item_table
from core.workspace import Workspace

MAX_DROPDOWN_OPTIONS = 200


@lru_cache(maxsize=4)
def _table(root: str, items_version: int, clusters_version: int) -> pd.DataFrame:
    return item_table(Workspace(root, create=False))


def table(ws: Workspace) -> pd.DataFrame:
    """:func:`core.item_table.item_table` of ``ws`` (cached by the items and clusters versions;
    its tags and cluster names are those of when it was read: use the fresh ones)."""
    return _table(str(ws.root), ws.version("items") or 0, ws.version("clusters/default") or 0)


def catalog_facets(ws: Workspace) -> Facets:
    """What the filter bar offers for ``ws`` now."""
    tab = table(ws)
    return facets(tab, catalog_columns(tab), tags=Annotations(ws.annotations_path).all_tags(),
                  boards={b.board_id: b.name for b in reader(ws).list()},
                  cluster_names=clusterdata.display_names(ws) if ws.has("clusters/default") else {})


def parse(ws: Workspace, params: Mapping[str, Any] | None) -> tuple[Filter, list[str]]:
    """The filter of URL parameters (or a ``FILTER_STATE``), checked against the catalog's columns."""
    if not isinstance(params, Mapping):
        return Filter(), []
    fac = catalog_facets(ws)
    return parse_params(params, fac.categorical, fac.numeric)


def keep_for(ws: Workspace, f: Filter, item_ids: Sequence[str] | pd.Series) -> np.ndarray:
    """Whether each of ``item_ids`` passes ``f``: (n,) bool (ids not in the catalog never pass)."""
    if f.is_empty():
        return np.ones(len(item_ids), dtype=bool)
    tab = table(ws)
    tag_members: dict[str, set[str]] = {}
    if f.tags:
        repo = Annotations(ws.annotations_path)
        tag_members = {t: set(repo.items_with_tag(t)) for t in f.tags}
    board_members = reader(ws).members() if f.boards else {}
    keep = pd.Series(mask(tab, f, tag_members, board_members), index=tab["item_id"].to_numpy())
    return keep.reindex(pd.Index(list(item_ids))).fillna(False).to_numpy(dtype=bool)


def passing(ws: Workspace, f: Filter, item_ids: Sequence[str]) -> list[str]:
    """``item_ids`` that pass ``f``, in their order."""
    keep = keep_for(ws, f, item_ids)
    return [i for i, k in zip(item_ids, keep, strict=True) if k]


def allowed(ws: Workspace, f: Filter) -> set[str] | None:
    """Every catalog item that passes ``f`` (what a search may return); None for no filter."""
    if f.is_empty():
        return None
    ids_ = table(ws)["item_id"]
    return set(ids_[keep_for(ws, f, ids_)].tolist())


# -- controls -------------------------------------------------------------------------------
def _dropdown(facet: str, placeholder: str, options: list[dict[str, Any]], value: Sequence[Any]) -> html.Div:
    return html.Div(dcc.Dropdown(id={"type": ids.FILTER_TYPE, "facet": facet}, options=options[:MAX_DROPDOWN_OPTIONS],
                                 value=list(value), multi=True, placeholder=placeholder, clearable=True),
                    className="filter-cell")


def controls(fac: Facets, f: Filter) -> list[Any]:
    """The filter bar's controls for ``fac``, set to ``f``."""
    cols = dict(f.columns)
    ranges = {c: (lo, hi) for c, lo, hi in f.ranges}
    out = [_dropdown("label", "label", [{"label": v, "value": v} for v in fac.labels], f.labels)]
    if fac.clusters:
        out.append(_dropdown("cluster", "cluster", [{"label": f"{c} · {n}", "value": c} for c, n in fac.clusters.items()],
                             f.clusters))
    out.append(_dropdown("tag", "tag", [{"label": f"{t} ({n})", "value": t} for t, n in fac.tags.items()], f.tags))
    out.append(_dropdown("board", "board", [{"label": n, "value": b} for b, n in fac.boards.items()], f.boards))
    out.append(_dropdown("colour", "colour", [{"label": c, "value": c} for c in fac.colours], f.colours))
    if fac.has_novelty:
        out.append(html.Div(dbc.Select(id={"type": ids.FILTER_TYPE, "facet": "novelty"}, value=f.novelty, size="sm",
                                       options=[{"label": {"any": "novel or not", "novel": "novel only",
                                                           "typical": "typical only"}[v], "value": v} for v in NOVELTY]),
                            className="filter-cell"))
    for col, values in fac.categorical.items():
        out.append(_dropdown(f"col:{col}", col, [{"label": v, "value": v} for v in values], cols.get(col, ())))
    for col, (lo, hi) in fac.numeric.items():
        low, high = ranges.get(col, (None, None))
        out.append(html.Div(dbc.InputGroup([
            dbc.InputGroupText(col),
            dbc.Input(id={"type": ids.FILTER_TYPE, "facet": f"num:{col}:lo"}, type="number", value=low,
                      placeholder=f"{lo:g}", debounce=True),
            dbc.Input(id={"type": ids.FILTER_TYPE, "facet": f"num:{col}:hi"}, type="number", value=high,
                      placeholder=f"{hi:g}", debounce=True),
        ], size="sm"), className="filter-cell"))
    return out


def bar(ws: Workspace, params: Mapping[str, Any] | None) -> tuple[html.Div, Filter]:
    """The filter bar set from URL parameters, its store, and the filter they describe."""
    f, notes = parse(ws, params)
    fac = catalog_facets(ws)
    body = html.Div(
        [
            html.Div([*controls(fac, f),
                      dbc.Button("Clear", id=ids.FILTER_RESET, color="link", size="sm", class_name="p-0")],
                     className="d-flex flex-wrap gap-2 align-items-center"),
            html.Div("; ".join(notes), id=ids.FILTER_NOTE, className="small text-warning"),
            dcc.Store(id=ids.FILTER_STATE, data=to_params(f)),
            dcc.Store(id=ids.FILTER_URL_SYNC),
        ],
        className="filter-bar mb-2",
        id=ids.FILTER_BAR,
    )
    return body, f


def _num(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


def from_controls(control_ids: Sequence[Mapping[str, Any]], values: Sequence[Any]) -> Filter:
    """The filter the bar's controls describe (their pattern ids and values, as the browser
    sent them: checked by :func:`core.filters.parse_params` afterwards)."""
    fields: dict[str, Any] = {}
    columns: list[tuple[str, tuple[str, ...]]] = []
    ranges: dict[str, list[float | None]] = {}
    for ident, value in zip(control_ids, values, strict=False):
        facet = str(ident.get("facet", ""))
        many = tuple(str(v) for v in value) if isinstance(value, list) else ()
        if facet in ("label", "tag", "colour"):
            fields[{"label": "labels", "tag": "tags", "colour": "colours"}[facet]] = many
        elif facet in ("cluster", "board"):
            fields["clusters" if facet == "cluster" else "boards"] = tuple(int(v) for v in many if v.lstrip("-").isdigit())
        elif facet == "novelty":
            fields["novelty"] = value if value in NOVELTY else "any"
        elif facet.startswith("col:") and many:
            columns.append((facet[4:], many))
        elif facet.startswith("num:"):
            col, _, end = facet[4:].rpartition(":")
            ranges.setdefault(col, [None, None])[0 if end == "lo" else 1] = _num(value)
    spans = tuple((c, lo, hi) for c, (lo, hi) in ranges.items() if lo is not None or hi is not None)
    return Filter(**fields, columns=tuple(columns), ranges=spans)


@callback(
    Output(ids.FILTER_STATE, "data"),
    Input({"type": ids.FILTER_TYPE, "facet": ALL}, "value"),
    prevent_initial_call=True,
)
def _state(values: list[Any]) -> Any:
    control_ids = [i["id"] for i in ctx.inputs_list[0]] if ctx.inputs_list else []
    return to_params(from_controls(control_ids, values))


@callback(
    Output({"type": ids.FILTER_TYPE, "facet": ALL}, "value"),
    Input(ids.FILTER_RESET, "n_clicks"),
    prevent_initial_call=True,
)
def _reset(_n: int | None) -> Any:
    if not ctx.outputs_list:
        return no_update
    return [("any" if o["id"]["facet"] == "novelty" else None if o["id"]["facet"].startswith("num:") else [])
            for o in ctx.outputs_list]


# The address bar carries the filter (f_* parameters; the page's own parameters are kept), so a
# filtered view can be bookmarked or shared. replaceState: no navigation, no history flood.
clientside_callback(
    """
    function(state) {
        const params = new URLSearchParams(window.location.search);
        Array.from(params.keys()).filter(k => k.startsWith("f_")).forEach(k => params.delete(k));
        Object.entries(state || {}).forEach(([k, v]) => params.set(k, v));
        const query = params.toString();
        const url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
        window.history.replaceState(window.history.state, "", url);
        return window.dash_clientside.no_update;
    }
    """,
    Output(ids.FILTER_URL_SYNC, "data"),
    Input(ids.FILTER_STATE, "data"),
    prevent_initial_call=True,
)
