"""Read a clustering run (``clusters/<run_id>``) for the pages, cached by version.

The clustering step writes the artifact; this module only adapts it to what the pages show
and adds the stylist's names from ``annotations.sqlite`` (which win over automatic names and
follow clusters across re-runs by member overlap).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd

from core.annotations import Annotations
from core.cluster.hierarchy import names_key
from core.errors import InvalidInputError
from core.workspace import Workspace


@lru_cache(maxsize=8)
def _load(root: str, run_id: str, version: int) -> dict[str, Any]:
    from core.cluster.result import load_clustering

    result = load_clustering(Workspace(root, create=False), run_id)
    assign = pd.DataFrame(
        {
            "item_id": result.ids.astype(str),
            "cluster": result.labels.astype(int),
            "confidence": result.confidence.astype(float),
            "novel": result.novel.astype(bool),
        }
    )
    clusters = pd.DataFrame(
        [
            {
                "cluster": int(c["cluster"]),
                "auto_name": str(c.get("name") or f"cluster {c['cluster']}"),
                "size": int(c.get("size", 0)),
                "mean_confidence": c.get("mean_confidence"),
                "representatives": list(c.get("representative_ids", [])),
                "novel_ids": list(c.get("novel_ids", [])),
                "label": c.get("label"),
                "label_share": c.get("label_share"),
                "imagenet": list(c.get("imagenet", [])),
            }
            for c in result.clusters
        ]
    )
    return {
        "assignments": assign,
        "clusters": clusters,
        "history": pd.DataFrame(result.history),
        "summary": dict(result.summary),
        "result": result,
    }


def _bundle(ws: Workspace, run_id: str) -> dict[str, Any] | None:
    name = f"clusters/{run_id}"
    if not ws.has(name):
        return None
    return _load(str(ws.root), run_id, ws.version(name) or 0)


def assignments(ws: Workspace, run_id: str = "default") -> pd.DataFrame | None:
    """item_id, cluster (int), confidence (float), novel (bool); None without a clustering."""
    bundle = _bundle(ws, run_id)
    return None if bundle is None else bundle["assignments"]


def table(ws: Workspace, run_id: str = "default") -> pd.DataFrame | None:
    """One row per cluster: cluster, auto_name, size, mean_confidence, representatives and
    novel_ids (lists of item ids), label, label_share, imagenet."""
    bundle = _bundle(ws, run_id)
    return None if bundle is None else bundle["clusters"]


def history(ws: Workspace, run_id: str = "default") -> pd.DataFrame | None:
    """One row per epoch of the clustering run; None without a clustering."""
    bundle = _bundle(ws, run_id)
    return None if bundle is None else bundle["history"]


def summary(ws: Workspace, run_id: str = "default") -> dict[str, Any] | None:
    """The run's summary (k, epochs, seconds, final record, label scores, baseline)."""
    bundle = _bundle(ws, run_id)
    return None if bundle is None else bundle["summary"]


@lru_cache(maxsize=8)
def _members(root: str, run_id: str, version: int) -> dict[int, list[str]]:
    assign = assignments(Workspace(root, create=False), run_id)
    if assign is None:
        return {}
    return {int(c): g["item_id"].tolist() for c, g in assign.groupby("cluster")}


def members(ws: Workspace, run_id: str = "default") -> dict[int, list[str]]:
    """``{cluster: [item ids]}`` of a run (empty without a clustering); do not mutate."""
    return _members(str(ws.root), run_id, ws.version(f"clusters/{run_id}") or 0)


def display_names(ws: Workspace, run_id: str = "default") -> dict[int, str]:
    """``{cluster: name}``: the stylist's name where one was given, else the automatic name."""
    tab = table(ws, run_id)
    if tab is None:
        return {}
    auto = {int(r.cluster): str(r.auto_name) for r in tab.itertuples()}
    return Annotations(ws.annotations_path).display_names(run_id, auto, members(ws, run_id))


# -- the tree: the fine clusters merged into coarser groups ------------------------------------
def n_levels(ws: Workspace, run_id: str = "default") -> int:
    """k: the tree can be cut into 1..k groups (0 without a clustering)."""
    bundle = _bundle(ws, run_id)
    return 0 if bundle is None else int(bundle["result"].k)


def parse_level(value: object, k: int) -> int:
    """A granularity from the browser as an int in 1..k; k (the fine clusters) for anything else."""
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return k
    return n if 1 <= n <= k else k


@lru_cache(maxsize=32)
def _level(root: str, run_id: str, version: int, n: int) -> tuple[list[dict[str, Any]], dict[int, int]]:
    result = _bundle(Workspace(root, create=False), run_id)["result"]  # type: ignore[index]
    groups = result.level(n)
    leaf_to_node = {leaf: g["node"] for g in groups for leaf in g["leaves"]}
    return groups, leaf_to_node


def level_groups(ws: Workspace, n: int, run_id: str = "default") -> list[dict[str, Any]]:
    """The groups of the tree cut at ``n``: [{group, node, name, auto_name, size, leaves}],
    ``name`` the stylist's where one was given at this level; [] without a clustering."""
    k = n_levels(ws, run_id)
    if not k:
        return []
    if not 1 <= n <= k:
        raise InvalidInputError(f"granularity must be in 1..{k}, got {n}")
    groups, _ = _level(str(ws.root), run_id, ws.version(f"clusters/{run_id}") or 0, n)
    names = level_names(ws, n, run_id)
    return [{**g, "auto_name": g["name"], "name": names.get(g["node"], g["name"])} for g in groups]


def leaf_to_group(ws: Workspace, n: int, run_id: str = "default") -> dict[int, int]:
    """``{fine cluster: node id of its group}`` at granularity ``n``."""
    return _level(str(ws.root), run_id, ws.version(f"clusters/{run_id}") or 0, n)[1]


def group_members(ws: Workspace, n: int, run_id: str = "default") -> dict[int, list[str]]:
    """``{node: [item ids]}`` of the groups at granularity ``n``."""
    out: dict[int, list[str]] = {}
    for leaf, ids in members(ws, run_id).items():
        out.setdefault(leaf_to_group(ws, n, run_id)[leaf], []).extend(ids)
    return out


def level_names(ws: Workspace, n: int, run_id: str = "default") -> dict[int, str]:
    """``{node: name}`` at granularity ``n``: the stylist's name given at this level where there
    is one (matched to the current groups by member overlap), else the automatic one."""
    k = n_levels(ws, run_id)
    if n == k:
        return display_names(ws, run_id)
    groups, _ = _level(str(ws.root), run_id, ws.version(f"clusters/{run_id}") or 0, n)
    names = {int(g["node"]): str(g["name"]) for g in groups}
    saved = Annotations(ws.annotations_path).cluster_names(names_key(run_id, n, k), group_members(ws, n, run_id))
    for key, name in saved.items():
        if int(key) in names:
            names[int(key)] = name
    return names
