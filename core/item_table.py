"""One row per item: the catalog joined with its cluster, the cluster's name, tags and colour family.

What exports write (:mod:`core.export`), what the filter bar filters (:mod:`core.filters`) and
what the catalog table shows, read from one place: the items artifact, the clustering run and the
annotations database.
"""

from __future__ import annotations

import pandas as pd

from core.annotations import Annotations
from core.colour import colour_family
from core.workspace import Workspace

__all__ = ["FIXED_COLUMNS", "INTERNAL_COLUMNS", "catalog_columns", "item_table"]

# first columns of every export, in this order; catalog columns follow
FIXED_COLUMNS = ("item_id", "source", "label", "cluster", "cluster_name", "tags")
# columns the product itself adds to the catalog (not a catalog CSV's own columns)
INTERNAL_COLUMNS = ("item_id", "source", "width", "height", "dominant_colour")


def _family(value: object) -> str:
    return colour_family(str(value)) or ""


def item_table(ws: Workspace, run_id: str = "default", items: pd.DataFrame | None = None) -> pd.DataFrame:
    """The catalog with what the app knows about each item.

    Parameters
    ----------
    ws : the workspace.
    run_id : the clustering run whose clusters and names are used (absent: no cluster columns
        filled).
    items : the items frame when the caller has it already (``ws.items()`` otherwise).

    Returns
    -------
    DataFrame, one row per item in catalog order, index item_id: ``FIXED_COLUMNS``, then
    ``novel`` (bool), ``confidence`` (float), ``colour_family`` (str), then the catalog's other
    columns. ``cluster`` is nullable Int64 (NA without a clustering); ``tags`` is the item's
    shared tags joined by ``"; "``.
    """
    frame = (items if items is not None else ws.items()).copy()
    frame = frame.reset_index(drop=True)
    n = len(frame)
    out = pd.DataFrame({"item_id": frame["item_id"].astype(str)})
    out["source"] = frame["source"].astype(str) if "source" in frame else ""
    out["label"] = frame["label"].fillna("").astype(str) if "label" in frame else ""
    out["cluster"] = pd.array([pd.NA] * n, dtype="Int64")
    out["cluster_name"] = ""
    annotations = Annotations(ws.annotations_path)
    tags = annotations.tags_by_item()
    out["tags"] = [("; ".join(tags.get(i, []))) for i in out["item_id"]]
    out["novel"] = False
    out["confidence"] = float("nan")
    if ws.has(f"clusters/{run_id}"):
        from core.cluster import load_clustering

        result = load_clustering(ws, run_id)
        assign = pd.DataFrame({"item_id": result.ids.astype(str), "cluster": result.labels.astype(int),
                               "novel": result.novel.astype(bool), "confidence": result.confidence.astype(float)})
        merged = out[["item_id"]].merge(assign, on="item_id", how="left")
        out["cluster"] = pd.array(merged["cluster"].to_numpy(), dtype="Int64")
        out["novel"] = merged["novel"].fillna(False).astype(bool).to_numpy()
        out["confidence"] = merged["confidence"].to_numpy(dtype=float)
        auto = {int(c["cluster"]): str(c.get("name") or f"cluster {c['cluster']}") for c in result.clusters}
        members = {int(c): g["item_id"].tolist() for c, g in assign.groupby("cluster")}
        names = annotations.display_names(run_id, auto, members)
        out["cluster_name"] = [names.get(int(c), "") if not pd.isna(c) else "" for c in out["cluster"]]
    colours = frame["dominant_colour"] if "dominant_colour" in frame else pd.Series([""] * n)
    out["colour_family"] = [_family(c) for c in colours]
    for col in frame.columns:
        if col not in out.columns:
            out[col] = frame[col].to_numpy()
    out.index = pd.Index(out["item_id"].to_numpy(), name=None)
    return out


def catalog_columns(table: pd.DataFrame) -> list[str]:
    """The columns a catalog CSV brought (label, colour, price, ...), beyond what the product adds."""
    known = set(FIXED_COLUMNS) | set(INTERNAL_COLUMNS) | {"novel", "confidence", "colour_family"}
    return [c for c in table.columns if c not in known]
