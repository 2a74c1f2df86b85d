"""Grow a collection: place new items in the existing clusters, maps and index, without retraining.

After new photos are ingested and embedded (the feature cache computes only them), the
artifacts built from the old items lack them. :func:`grow_workspace` adds them to each:

- ``clusters/<run>``: the saved heads embed the new items and assign them to the nearest
  centroid, with the fit's novelty test marking outliers (``AdaptiveDeepCluster.assign``);
  centroids, heads and history are kept.
- ``similarity/<run>``: the served space takes the new rows (the trained head, or L2
  normalisation where frozen features are served) and the Annoy index is rebuilt over all
  rows with the same settings (cheap: seconds for thousands of items).
- ``projection/<run>``: each new item is placed at the weighted mean of the map positions of
  its ``n_neighbors`` nearest old items in the source space, with UMAP's membership weights
  ``exp(-(d - rho) / sigma)`` (the initialisation UMAP's own ``transform`` starts from; the
  fitted reducer is not kept, so this kNN placement is the documented substitute).

Every write is a new artifact version, so pages' caches keyed by version refresh. A
"re-cluster" job (:mod:`core.jobs.kinds`) retrains when the stylist asks.
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.embed.artifact import load_features
from core.progress import report
from core.workspace import Workspace

__all__ = ["can_grow", "grow_clusters", "grow_projection", "grow_similarity", "grow_workspace", "knn_place"]


def can_grow(ws: Workspace, run_id: str = "default") -> bool:
    """Whether the collection has the trained artifacts new items are placed into."""
    return all(ws.has(f"{kind}/{run_id}") for kind in ("clusters", "similarity", "projection"))


def _new_rows(all_ids: np.ndarray, old_ids: np.ndarray) -> np.ndarray:
    """Rows of ``all_ids`` (N,) not among ``old_ids``, in order."""
    old = set(np.asarray(old_ids).astype(str).tolist())
    return np.array([i for i, x in enumerate(np.asarray(all_ids).astype(str).tolist()) if x not in old], dtype=np.int64)


def _copy(src: Path, dst: Path, names: list[str]) -> None:
    for name in names:
        path = src / name
        if path.is_dir():
            shutil.copytree(path, dst / name)
        elif path.exists():
            shutil.copy2(path, dst / name)


# -- clusters ----------------------------------------------------------------------------------
def grow_clusters(ws: Workspace, run_id: str = "default") -> dict[str, Any]:
    """Assign the items of the clustering's features that ``clusters/<run_id>`` lacks; returns
    ``{"added", "outliers", "version"}`` (added 0: nothing written)."""
    from core.cluster.assign import _saved_model
    from core.cluster.result import artifact_name, load_clustering
    from core.cluster.step import _catalog_labels, _json_default

    name = artifact_name(run_id)
    res = load_clustering(ws, run_id)
    fs = load_features(ws, res.backbone)
    rows = _new_rows(fs.ids, res.ids)
    if len(rows) == 0:
        return {"added": 0, "outliers": 0, "version": res.version}
    assert res.path is not None
    model, _names = _saved_model(str(res.path))
    X = np.asarray(fs.features[rows], dtype=np.float32)
    a = model.assign(X)
    Z = model.transform(X).astype(np.float32)
    new_ids = np.asarray(fs.ids)[rows].astype(str)
    labels = _catalog_labels(ws, new_ids)
    old = pd.read_parquet(res.path / "assignments.parquet")
    added = pd.DataFrame({
        "item_id": new_ids,
        "cluster": a["labels"].astype(np.int64),
        "confidence": a["confidence"].astype(np.float32),
        "similarity": a["similarity"].astype(np.float32),
        "novel": a["novel"].astype(bool),
        "label": pd.Series(list(labels) if labels is not None else [None] * len(rows), dtype="object"),
    })
    assignments = pd.concat([old, added], ignore_index=True)
    embedding = np.concatenate([np.load(res.path / "embedding.npy"), Z], axis=0)
    clusters = _updated_records(res.clusters, assignments, added)
    before = int((res.summary.get("grown") or {}).get("total_added", 0))
    summary = {**res.summary, "n_items": int(len(assignments)),
               "grown": {"added": int(len(rows)), "outliers": int(added["novel"].sum()),
                         "from_version": res.version, "total_added": before + int(len(rows))}}
    record = ws.record(name) or {}
    parents = {**record.get("parents", {}), f"features/{res.backbone}": fs.version}
    with ws.write_artifact(name, config=dict(record.get("config", {})), parents=parents) as tmp:
        assignments.to_parquet(tmp / "assignments.parquet", index=False)
        np.save(tmp / "embedding.npy", embedding)
        (tmp / "clusters.json").write_text(json.dumps(clusters, indent=1))
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1, default=_json_default))
        _copy(res.path, tmp, ["centroids.npy", "heads.pt", "history.json", "history.parquet"])
    return {"added": int(len(rows)), "outliers": int(added["novel"].sum()), "version": ws.version(name)}


def _updated_records(clusters: list[dict[str, Any]], assignments: pd.DataFrame,
                     added: pd.DataFrame) -> list[dict[str, Any]]:
    """``clusters.json`` records with the new members counted (size, mean confidence, novel ids)."""
    out = []
    for c in clusters:
        j = int(c["cluster"])
        members = assignments[assignments["cluster"] == j]
        new_novel = added[(added["cluster"] == j) & added["novel"]]["item_id"].tolist()
        out.append({**c, "size": int(len(members)),
                    "mean_confidence": round(float(members["confidence"].mean()), 4) if len(members) else None,
                    "novel_ids": [*c.get("novel_ids", []), *new_novel]})
    return out


# -- similarity --------------------------------------------------------------------------------
def grow_similarity(ws: Workspace, run_id: str = "default") -> dict[str, Any]:
    """Embed the items ``similarity/<run_id>`` lacks into its served space and rebuild its
    index over every row; returns ``{"added", "version", "recall_at_10"}``."""
    from core.similarity.artifact import artifact_name, load_similarity
    from core.similarity.index import build_measured
    from core.similarity.step import _next_version

    name = artifact_name(run_id)
    art = load_similarity(ws, run_id)
    fs = load_features(ws, art.backbone)
    rows = _new_rows(fs.ids, art.ids)
    if len(rows) == 0:
        art.index.unload()
        return {"added": 0, "version": art.version}
    new = art.embedder().transform(np.asarray(fs.features[rows], dtype=np.float32)).astype(np.float32)
    emb = np.concatenate([np.asarray(art.embeddings, dtype=np.float32), new], axis=0)
    ids = np.concatenate([art.ids.astype(str), np.asarray(fs.ids)[rows].astype(str)])
    meta = art.index.meta
    art.index.unload()
    version = _next_version(ws, name)
    index = build_measured(emb, ids, float(meta.get("target_recall") or 0.95), int(meta.get("seed", 0)), version,
                           n_trees=int(meta["n_trees"]), search_k=int(meta["search_k"]))
    record = ws.record(name) or {}
    parents = {**record.get("parents", {}), f"features/{art.backbone}": fs.version}
    if ws.version("items") is not None:
        parents["items"] = int(ws.version("items") or 0)
    with ws.write_artifact(name, dict(record.get("config", {})), parents) as tmp:
        np.save(tmp / "embeddings.npy", emb)
        np.save(tmp / "ids.npy", ids)
        index.save(tmp / "index")
        index.unload()
        _copy(art.path, tmp, ["head.pt", "history.json", "evaluation.json", "directions.json", "directions.npy"])
    return {"added": int(len(rows)), "version": ws.version(name), "recall_at_10": index.meta.get("recall_at_10")}


# -- projection --------------------------------------------------------------------------------
def knn_place(X_old: np.ndarray, Y_old: np.ndarray, X_new: np.ndarray, n_neighbors: int = 15) -> np.ndarray:
    """Map positions (n, 2) for new rows ``X_new`` (n, D), from the positions ``Y_old`` (N, 2) of
    their ``n_neighbors`` nearest rows of ``X_old`` (N, D) by cosine distance, weighted
    ``exp(-(d - rho) / sigma)`` (rho: the nearest distance, sigma: the mean gap)."""
    A = np.asarray(X_old, dtype=np.float32)
    B = np.asarray(X_new, dtype=np.float32)
    A = A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)
    B = B / np.maximum(np.linalg.norm(B, axis=1, keepdims=True), 1e-12)
    k = int(min(n_neighbors, len(A)))
    d = 1.0 - B @ A.T  # (n, N)
    nn = np.argpartition(d, k - 1, axis=1)[:, :k]
    dk = np.take_along_axis(d, nn, axis=1)
    rho = dk.min(axis=1, keepdims=True)
    gap = dk - rho
    sigma = np.maximum(gap.mean(axis=1, keepdims=True), 1e-6)
    w = np.exp(-gap / sigma)
    w /= w.sum(axis=1, keepdims=True)
    return np.einsum("nk,nkc->nc", w, np.asarray(Y_old, dtype=np.float32)[nn]).astype(np.float32)


def grow_projection(ws: Workspace, run_id: str = "default") -> dict[str, Any]:
    """Place the items ``projection/<run_id>`` lacks next to their nearest mapped neighbours;
    returns ``{"added", "version"}``."""
    from core.projection import _load_source, load_projection, write_projection

    name = f"projection/{run_id}"
    record = ws.record(name) or {}
    config = dict(record.get("config", {}))
    source = str(config.get("source", "features/efficientnet-lite0"))
    frame = load_projection(ws, run_id)
    ids, X, version = _load_source(ws, source)
    ids = np.asarray(ids).astype(str)
    rows = _new_rows(ids, frame["item_id"].to_numpy(dtype=str))
    if len(rows) == 0:
        return {"added": 0, "version": ws.version(name)}
    row_of = {x: i for i, x in enumerate(ids.tolist())}
    keep = frame[frame["item_id"].astype(str).isin(row_of)]
    old_rows = np.array([row_of[x] for x in keep["item_id"].astype(str)], dtype=np.int64)
    Y = knn_place(np.asarray(X[old_rows]), keep[["x", "y"]].to_numpy(np.float32), np.asarray(X[rows]),
                  int(config.get("n_neighbors", 15)))
    added = pd.DataFrame({"item_id": ids[rows], "x": Y[:, 0], "y": Y[:, 1]})
    placed = int(config.get("placed", {}).get("n", 0)) + len(rows)
    config["placed"] = {"method": "knn", "n": placed}
    write_projection(ws, pd.concat([frame, added], ignore_index=True), run_id, config, parents={source: version})
    return {"added": int(len(rows)), "version": ws.version(name)}


def grow_workspace(ws: Workspace, run_id: str = "default", progress_factory: Any = None) -> dict[str, Any]:
    """Grow the clustering, the similarity index and every map of the collection (after the
    new items were ingested and embedded); a summary per artifact."""
    factory = progress_factory or (lambda _name: None)
    out: dict[str, Any] = {}
    todo = [("clusters", lambda: grow_clusters(ws, run_id)), ("similarity", lambda: grow_similarity(ws, run_id))]
    todo += [(name, functools.partial(grow_projection, ws, name.split("/", 1)[1])) for name in ws.names("projection/")]
    progress = factory("place new items (clusters, index, map)")
    for i, (key, fn) in enumerate(todo):
        report(progress, i, len(todo))
        if ws.has(key if "/" in key else f"{key}/{run_id}"):
            out[key] = fn()
    report(progress, len(todo), len(todo))
    return out
