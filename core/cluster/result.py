"""A saved clustering (``clusters/<run_id>``) read back: ``ClusterResult``, listing, lookup."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.cluster.hierarchy import ClusterTree, build_tree
from core.errors import InvalidInputError, MissingArtifactError
from core.workspace import Workspace


@dataclass
class ClusterResult:
    """A saved clustering, read back from ``clusters/<run_id>``.

    ids (N,) str; labels (N,) int; confidence (N,) float; novel (N,) bool;
    centroids (k, d); clusters: list of dicts as in ``clusters.json``; tree: ``tree.json``
    (None for a clustering saved before trees existed).
    """

    run_id: str
    version: int
    backbone: str
    ids: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray
    novel: np.ndarray
    centroids: np.ndarray
    clusters: list[dict[str, Any]]
    history: list[dict[str, Any]]
    summary: dict[str, Any]
    path: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)
    tree: dict[str, Any] | None = None

    @property
    def k(self) -> int:
        return int(len(self.centroids))

    def cluster_tree(self) -> ClusterTree:
        """The saved tree; for a clustering saved without one, Ward on its centroids."""
        if self.tree is not None:
            return ClusterTree.from_json(self.tree)
        return build_tree(self.centroids, np.arange(self.k), self.k)

    def level(self, n_groups: int) -> list[dict[str, Any]]:
        """The groups of the tree cut at ``n_groups`` (1..k): [{group, node, name, size, leaves}],
        numbered as :meth:`ClusterTree.cut` numbers them; at ``k`` the fine clusters themselves."""
        tree = self.cluster_tree()
        nodes = {int(n["node"]): n for n in (self.tree or {}).get("nodes", [])}
        leaf = {int(c["cluster"]): c for c in self.clusters}
        out = []
        for g, node in enumerate(tree.groups(n_groups)):
            rec = leaf.get(node) if node < tree.k else nodes.get(node)
            leaves = tree.leaves(node)
            out.append({
                "group": g,
                "node": node,
                "name": str(rec["name"]) if rec else f"group {node}",
                "size": int(sum(int(tree.sizes[j]) for j in leaves)),
                "leaves": leaves,
            })
        return out

    def level_labels(self, n_groups: int) -> np.ndarray:
        """(N,) group of each item when the tree is cut at ``n_groups``."""
        return self.cluster_tree().cut(n_groups)[np.asarray(self.labels, dtype=np.int64)]

    def final(self) -> dict[str, Any]:
        """The last per-epoch record."""
        return self.history[-1] if self.history else {}

    def cluster_table(self) -> list[dict[str, Any]]:
        """[{cluster, name, size}] for listings."""
        return [{"cluster": c["cluster"], "name": c["name"], "size": c["size"]} for c in self.clusters]


def artifact_name(run_id: str) -> str:
    """``clusters/<run_id>``; :class:`InvalidInputError` for an empty id or one with a slash."""
    if not run_id or "/" in run_id:
        raise InvalidInputError(f"invalid clustering id {run_id!r}")
    return f"clusters/{run_id}"


def require_clustering(ws: Workspace, run_id: str) -> None:
    """:class:`MissingArtifactError` naming ``python -m core cluster`` when absent."""
    if not ws.has(artifact_name(run_id)):
        raise MissingArtifactError(
            f"workspace {ws.root} has no clustering {run_id!r}; build it with "
            f"`python -m core cluster --workspace {ws.root} --id {run_id}`"
        )


def load_clustering(ws: Workspace, run_id: str = "default") -> ClusterResult:
    """Read ``clusters/<run_id>``; :class:`MissingArtifactError` naming the command otherwise."""
    name = artifact_name(run_id)
    folder = ws.artifact_dir(name)
    assignments = pd.read_parquet(folder / "assignments.parquet")
    summary = json.loads((folder / "summary.json").read_text())
    record = ws.record(name) or {}
    return ClusterResult(
        run_id=run_id,
        version=int(record.get("version", 0)),
        backbone=summary["backbone"],
        ids=assignments["item_id"].to_numpy(dtype=str),
        labels=assignments["cluster"].to_numpy(),
        confidence=assignments["confidence"].to_numpy(),
        novel=assignments["novel"].to_numpy(dtype=bool),
        centroids=np.load(folder / "centroids.npy"),
        clusters=json.loads((folder / "clusters.json").read_text()),
        history=json.loads((folder / "history.json").read_text()),
        summary=summary,
        path=folder,
        config=dict(record.get("config", {})),
        tree=json.loads((folder / "tree.json").read_text()) if (folder / "tree.json").is_file() else None,
    )


def list_clusterings(ws: Workspace) -> list[dict[str, Any]]:
    """Saved clusterings: [{run_id, version, created, backbone, k, n_items}]."""
    out = []
    for name in ws.names("clusters/"):
        run_id = name.split("/", 1)[1]
        rec = ws.record(name) or {}
        entry: dict[str, Any] = {"run_id": run_id, "version": rec.get("version"), "created": rec.get("created")}
        try:
            summary = json.loads((ws.artifact_dir(name) / "summary.json").read_text())
            entry.update({k: summary.get(k) for k in ("backbone", "k", "n_items")})
        except (OSError, ValueError):
            entry.update({"backbone": None, "k": None, "n_items": None})
        out.append(entry)
    return out
