"""The clustering step of the pipeline: features → ``clusters/<run_id>`` artifact.

Artifact files (all rows keyed by ``item_id``; see :func:`cluster_workspace`):

``assignments.parquet``  item_id, cluster, confidence, similarity, novel, label
``clusters.json``        [{cluster, name, label, label_share, imagenet, size, mean_confidence,
                          representative_ids, novel_ids}]
``history.json``         per-epoch records (list of dicts, as in ``AdaptiveDeepCluster.history_``)
``history.parquet``      the scalar columns of the history, one row per epoch, for charts
``summary.json``         run_id, backbone, n_items, k, epochs, stopped, seconds, final record,
                         scores (against catalog labels), baseline (plain k-means, same k)
``tree.json``            the fine clusters merged into a tree (:mod:`core.cluster.hierarchy`):
                         {k, sizes, merges, nodes: [{node, children, size, height, name, words,
                         colour, leaves}]} (the merged nodes k..2k-2; leaves are the clusters)
``centroids.npy``        (k, 256) float32, unit-norm
``embedding.npy``        (N, 256) float32 head embeddings, row i = assignments row i
``heads.pt``             checkpoint of the fitted heads (``AdaptiveDeepCluster.from_checkpoint``)

Reading it back: :mod:`core.cluster.result`; placing new images: :mod:`core.cluster.assign`.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.cluster.baseline import baselines
from core.cluster.config import ClusterConfig, effective_config
from core.cluster.estimator import AdaptiveDeepCluster
from core.cluster.hierarchy import build_tree
from core.cluster.history import history_table
from core.cluster.naming import describe, name_clusters, representatives
from core.cluster.result import ClusterResult, artifact_name, load_clustering
from core.metrics import evaluate as label_scores
from core.progress import Progress
from core.workspace import Workspace


def _catalog_labels(ws: Workspace, ids: np.ndarray) -> np.ndarray | None:
    """(N,) object array of catalog labels in feature-row order (None where missing)."""
    items = ws.items()
    if items.empty or "label" not in items.columns:
        return None
    lab = items.set_index("item_id")["label"]
    values = lab.reindex([str(i) for i in ids]).to_numpy(dtype=object)
    values = np.array([None if (pd.isna(v) or str(v) == "") else str(v) for v in values], dtype=object)
    return values if any(v is not None for v in values) else None


def _catalog_colours(ws: Workspace, ids: np.ndarray) -> np.ndarray | None:
    """(N,) object array of the items' ``#rrggbb`` dominant colours in feature-row order."""
    items = ws.items()
    if items.empty or "dominant_colour" not in items.columns:
        return None
    col = items.set_index("item_id")["dominant_colour"]
    return col.reindex([str(i) for i in ids]).to_numpy(dtype=object)


def _checkpoint_path(ws: Workspace, run_id: str, cfg: ClusterConfig, features_version: int, n: int) -> Path:
    """Working checkpoint of an unfinished run; keyed by its config and input so a changed
    run starts afresh instead of resuming something else."""
    key = json.dumps({"cfg": asdict(cfg), "features": features_version, "n": n}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return ws.cache_dir / "clusters" / f"{run_id}-{digest}.pt"


def cluster_workspace(
    ws: Workspace, config: ClusterConfig | None = None, run_id: str = "default", progress: Progress = None
) -> ClusterResult:
    """Cluster the workspace's features and write the ``clusters/<run_id>`` artifact.

    Catalog labels, where present, are used only to score the run (history metrics, the
    baseline comparison, cluster names), never to train it. An interrupted run resumes from
    its working checkpoint when called again with the same config.
    """
    from core.embed.artifact import load_features

    cfg = config or ClusterConfig()
    name = artifact_name(run_id)
    fs = load_features(ws, cfg.backbone)
    X = np.asarray(fs.features, dtype=np.float32)
    views = np.asarray(fs.views, dtype=np.float32) if (cfg.use_views and fs.views is not None) else None
    cfg = effective_config(cfg, len(X), 0 if views is None else views.shape[1], X.shape[1])
    labels = _catalog_labels(ws, fs.ids)
    t0 = time.perf_counter()
    ckpt = _checkpoint_path(ws, run_id, cfg, fs.version, len(X))
    model = AdaptiveDeepCluster(**cfg.estimator_params(), checkpoint_path=ckpt)
    model.fit(X, views=views, labels=labels, progress=progress)
    fit_seconds = time.perf_counter() - t0
    baseline = baselines(ws, fs, X, model.k_, labels, cfg.random_state) if cfg.baseline else None
    result = _write(ws, name, run_id, cfg, fs, model, labels, baseline, fit_seconds)
    ckpt.unlink(missing_ok=True)
    return result


def _cluster_records(model: AdaptiveDeepCluster, ids: np.ndarray, cfg: ClusterConfig, fs: Any,
                     labels: np.ndarray | None, colours: np.ndarray | None) -> list[dict[str, Any]]:
    """``clusters.json``: one record per cluster (name, size, representatives, novel members)."""
    names = name_clusters(model.labels_, model.k_, labels, fs.topk_idx, fs.topk_prob, colours)
    reps = representatives(model.embedding_, model.labels_, model.centroids_, cfg.n_representatives)
    clusters = []
    for j in range(model.k_):
        members = model.labels_ == j
        clusters.append({
            "cluster": j,
            "name": names[j].name,
            "label": names[j].label,
            "label_share": round(names[j].label_share, 4),
            "imagenet": list(names[j].imagenet),
            "words": list(names[j].words),
            "colour": names[j].colour,
            "size": int(members.sum()),
            "mean_confidence": round(float(model.confidence_[members].mean()), 4) if members.any() else None,
            "representative_ids": ids[reps[j]].tolist(),
            "novel_ids": ids[members & model.novel_].tolist(),
        })
    return clusters


def _tree_record(model: AdaptiveDeepCluster, fs: Any, labels: np.ndarray | None,
                 colours: np.ndarray | None) -> dict[str, Any]:
    """``tree.json``: the Ward tree of the fine clusters, with a name for every merged node."""
    tree = build_tree(model.embedding_, model.labels_, model.k_)
    nodes = []
    for i, (a, b, height, size) in enumerate(tree.merges):
        node = model.k_ + i
        leaves = tree.leaves(node)
        n = describe(np.flatnonzero(np.isin(model.labels_, leaves)), f"group {node}", labels,
                     fs.topk_idx, fs.topk_prob, colours)
        nodes.append({"node": node, "children": [int(a), int(b)], "size": int(size), "height": round(float(height), 6),
                      "name": n.name, "words": list(n.words), "colour": n.colour, "leaves": leaves})
    return {**tree.to_json(), "nodes": nodes}


def k_selection(model: AdaptiveDeepCluster, cfg: ClusterConfig) -> dict[str, Any]:
    """How k was chosen: method, k_init, k_max, the final k, growths and the split tests run."""
    tests = [t for r in model.history_ for t in r.get("split_tests", [])]
    return {"method": cfg.k_select, "k_init": cfg.k_init, "k_max": cfg.k_max, "k": int(model.k_),
            "grown": sum(1 for r in model.history_ if r["k_after"] > r["k_before"]),
            "tests": len(tests), "accepted": sum(1 for t in tests if t["accepted"])}


def _scores(model: AdaptiveDeepCluster, labels: np.ndarray | None) -> dict[str, Any] | None:
    """Scores of the final labels against the catalog labels (None without any)."""
    if labels is None:
        return None
    mask = np.array([v is not None for v in labels])
    scores = label_scores(labels[mask].astype(str), model.labels_[mask])
    return {**{m: round(scores[m], 5) for m in ("acc", "nmi", "ari", "purity")}, "f1": scores["f1"],
            "n_labelled": int(mask.sum())}


def _write(ws, name, run_id, cfg, fs, model, labels, baseline, fit_seconds) -> ClusterResult:  # noqa: ANN001
    ids = np.asarray(fs.ids).astype(str)
    colours = _catalog_colours(ws, fs.ids)
    clusters = _cluster_records(model, ids, cfg, fs, labels, colours)
    tree = _tree_record(model, fs, labels, colours)
    summary = {
        "run_id": run_id,
        "backbone": fs.backbone,
        "n_items": int(len(ids)),
        "k": int(model.k_),
        "epochs": int(model.n_epochs_),
        "stopped": model.stopped_,
        "seconds": round(fit_seconds, 2),
        "final": model.history_[-1],
        "scores": _scores(model, labels),
        "baseline": baseline,
        "k_selection": k_selection(model, cfg),
    }
    assignments = pd.DataFrame({
        "item_id": ids,
        "cluster": model.labels_.astype(np.int64),
        "confidence": model.confidence_.astype(np.float32),
        "similarity": (model.embedding_ * model.centroids_[model.labels_]).sum(1).astype(np.float32),
        "novel": model.novel_,
        "label": pd.Series(list(labels) if labels is not None else [None] * len(ids), dtype="object"),
    })
    config = {**asdict(cfg), "run_id": run_id}
    with ws.write_artifact(name, config=config, parents={f"features/{fs.backbone}": fs.version}) as tmp:
        assignments.to_parquet(tmp / "assignments.parquet", index=False)
        history_table(model.history_).to_parquet(tmp / "history.parquet", index=False)
        (tmp / "history.json").write_text(json.dumps(model.history_, indent=1))
        (tmp / "clusters.json").write_text(json.dumps(clusters, indent=1))
        (tmp / "tree.json").write_text(json.dumps(tree, indent=1))
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1, default=_json_default))
        np.save(tmp / "centroids.npy", model.centroids_.astype(np.float32))
        np.save(tmp / "embedding.npy", model.embedding_.astype(np.float32))
        model.save_checkpoint(tmp / "heads.pt")
    return load_clustering(ws, run_id)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj)}")
