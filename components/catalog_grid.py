"""The catalog as a table (dash-ag-grid: sortable, filterable, thumbnails), linked to the map's
selection: rows picked in the table fill the tray, a lasso on the map selects its rows.

Rows are what passes the filter bar, at most ``MAX_GRID_ROWS`` (the browser holds them); the
thumbnail column is drawn by ``ItemThumb`` in assets/dashAgGridComponentFunctions.js.
"""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import numpy as np
import pandas as pd

from components import clusterdata, filterbar, ids
from core.annotations import Annotations
from core.filters import Filter
from core.item_table import catalog_columns
from core.workspace import Workspace

MAX_GRID_ROWS = 20_000
SHOWN = ("item_id", "label", "cluster", "cluster_name", "tags", "colour_family", "novel")


def grid_rows(ws: Workspace, f: Filter) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """``(rows, column definitions, note)`` of the table for filter ``f``: the passing items in
    catalog order with fresh tags and cluster names, at most ``MAX_GRID_ROWS``."""
    tab = filterbar.table(ws)
    keep = filterbar.keep_for(ws, f, tab["item_id"])
    shown = tab[keep]
    note = f"{len(shown):,} of {len(tab):,} photos"
    if len(shown) > MAX_GRID_ROWS:
        note += f"; the first {MAX_GRID_ROWS:,} are in the table (filter to narrow it)"
        shown = shown.iloc[:MAX_GRID_ROWS]
    extra = [c for c in catalog_columns(tab) if c != "label"]
    frame = shown[[c for c in SHOWN if c in shown] + extra].copy()
    tags = Annotations(ws.annotations_path).tags_by_item()
    frame["tags"] = ["; ".join(tags.get(i, [])) for i in frame["item_id"]]
    names = clusterdata.display_names(ws) if ws.has("clusters/default") else {}
    frame["cluster_name"] = [names.get(int(c), "") if not pd.isna(c) else "" for c in frame["cluster"]]
    frame["cluster"] = [None if pd.isna(c) else int(c) for c in frame["cluster"]]
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for r in rows:
        for k, v in r.items():
            if isinstance(v, np.generic):
                r[k] = v.item()
    return rows, column_defs(frame), note


def column_defs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A thumbnail column, then one sortable, filterable column per field (numbers as numbers)."""
    defs: list[dict[str, Any]] = [{"headerName": "", "field": "item_id", "colId": "thumb", "cellRenderer": "ItemThumb",
                                   "width": 76, "sortable": False, "filter": False, "resizable": False}]
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col])
        defs.append({"field": col, "headerName": col.replace("_", " "),
                     "filter": "agNumberColumnFilter" if numeric else "agTextColumnFilter",
                     "hide": col == "item_id"})
    return defs


def grid() -> dag.AgGrid:
    """The empty table (rows arrive when it is opened)."""
    return dag.AgGrid(
        id=ids.CATALOG_GRID,
        rowData=[],
        columnDefs=[],
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "floatingFilter": True},
        dashGridOptions={"rowSelection": {"mode": "multiRow", "enableClickSelection": False},
                         "pagination": True, "paginationPageSize": 50, "rowHeight": 60,
                         "animateRows": False},
        getRowId="params.data.item_id",
        style={"height": "560px"},
    )


def selected(rows: list[dict[str, Any]] | None) -> list[str]:
    """Item ids of the table's selected rows (as the browser sent them: checked by the tray)."""
    return [str(r["item_id"]) for r in rows or [] if isinstance(r, dict) and isinstance(r.get("item_id"), str)]
