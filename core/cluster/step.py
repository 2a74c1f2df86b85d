"""The clustering step of the pipeline: features → ``clusters/<run_id>`` artifact.

Artifact files (all rows keyed by ``item_id``; see :func:`cluster_workspace`):

``assignments.parquet``  item_id, cluster, confidence, similarity, novel, label
``clusters.json``        [{cluster, name, label, label_share, imagenet, size, mean_confidence,
                          representative_ids, novel_ids}]
``history.json``         per-epoch records (list of dicts, as in ``AdaptiveDeepCluster.history_``)
``history.parquet``      the scalar columns of the history, one row per epoch, for charts
``summary.json``         run_id, backbone, n_items, k, epochs, stopped, seconds, final record,
                         scores (against catalog labels), baseline (plain k-means, same k)
``centroids.npy``        (k, 256) float32, unit-norm
``embedding.npy``        (N, 256) float32 head embeddings, row i = assignments row i
``heads.pt``             checkpoint of the fitted heads (``AdaptiveDeepCluster.from_checkpoint``)
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.backbones import CLUSTER_BACKBONE, DEFAULT_BACKBONE
from core.cluster_naming import name_clusters, representatives
from core.clustering import AdaptiveDeepCluster
from core.errors import InvalidInputError, MissingArtifactError
from core.metrics import evaluate as label_scores
from core.progress import Progress
from core.workspace import Workspace

HISTORY_COLUMNS = (
    "epoch", "space", "k_before", "k_after", "silhouette", "mean_confidence", "pseudo_label_acc", "novel",
    "buffer", "stability", "reseeded", "growth_rejected", "loss", "acc", "nmi", "ari", "purity", "seconds",
)


@dataclass(frozen=True)
class ClusterConfig:
    """Configuration of a clustering run (see :class:`AdaptiveDeepCluster` for the meaning)."""

    backbone: str = CLUSTER_BACKBONE
    k_init: int = 10
    k_max: int = 25
    n_epochs: int = 30
    min_epochs: int = 10
    reassign_every: int = 1
    stop_stability: float = 0.95
    lr: float = 1e-3  # 1e-4 barely moves the head in 30 short epochs (see the closing note)
    weight_decay: float = 1e-5
    batch_size: int = 256
    hidden_dim: int = 512
    out_dim: int = 256
    dropout: float = 0.2
    balance: str = "sample"
    equipartition: bool = False
    pca_dim: int | None = None  # None: PCA only when the head's inputs would be too big (see below)
    whiten: bool = True
    neighbor_weight: float = 1.0
    n_neighbors: int = 10
    init_umap: int | None = 10  # first pseudo-labels from k-means on a 10-d UMAP (N2D): +0.01 NMI on the demo
    umap_neighbors: int = 30
    n_sigma: float = 2.0
    min_confidence: float = 0.6
    novelty_buffer: int = 80
    checkpoint_every: int = 5
    use_views: bool = True
    n_representatives: int = 8
    baseline: bool = True
    random_state: int = 0

    def estimator_params(self) -> dict[str, Any]:
        skip = {"backbone", "use_views", "n_representatives", "baseline"}
        return {k: v for k, v in asdict(self).items() if k not in skip}


@dataclass(frozen=True)
class Assignment:
    """Where a new image falls: a cluster (id, name, confidence) or an outlier."""

    run_id: str
    cluster: int | None
    name: str
    confidence: float
    similarity: float
    outlier: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ClusterResult:
    """A saved clustering, read back from ``clusters/<run_id>``.

    ids (N,) str; labels (N,) int; confidence (N,) float; novel (N,) bool;
    centroids (k, d); clusters: list of dicts as in ``clusters.json``.
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

    @property
    def k(self) -> int:
        return int(len(self.centroids))

    def final(self) -> dict[str, Any]:
        """The last per-epoch record."""
        return self.history[-1] if self.history else {}

    def cluster_table(self) -> list[dict[str, Any]]:
        """[{cluster, name, size}] for listings."""
        return [{"cluster": c["cluster"], "name": c["name"], "size": c["size"]} for c in self.clusters]


def artifact_name(run_id: str) -> str:
    if not run_id or "/" in run_id:
        raise InvalidInputError(f"invalid clustering id {run_id!r}")
    return f"clusters/{run_id}"


def _catalog_labels(ws: Workspace, ids: np.ndarray) -> np.ndarray | None:
    """(N,) object array of catalog labels in feature-row order (None where missing)."""
    items = ws.items()
    if items.empty or "label" not in items.columns:
        return None
    lab = items.set_index("item_id")["label"]
    values = lab.reindex([str(i) for i in ids]).to_numpy(dtype=object)
    values = np.array([None if (pd.isna(v) or str(v) == "") else str(v) for v in values], dtype=object)
    return values if any(v is not None for v in values) else None


# Above this many items the baseline k-means is fitted on a random sample of this size and then
# assigns every item in row blocks: a 50,000-item catalog's grid features (1 GB, memory-mapped)
# are never copied into memory whole.
BASELINE_FIT_ITEMS = 20_000


def _baseline(features: np.ndarray, k: int, labels: np.ndarray | None, seed: int) -> dict[str, Any]:
    """Plain k-means with ``k`` clusters on the frozen features (no head, no PCA); features
    (N, D) may be memory-mapped."""
    from sklearn.cluster import KMeans

    t0 = time.perf_counter()
    n = len(features)
    sample = np.arange(n)
    if n > BASELINE_FIT_ITEMS:
        sample = np.sort(np.random.default_rng(seed).choice(n, BASELINE_FIT_ITEMS, replace=False))
    # features[sample] is a fresh copy: k-means may centre it in place instead of copying it again
    km = KMeans(n_clusters=k, n_init=3, random_state=seed, copy_x=False).fit(np.asarray(features[sample], np.float32))
    pred = np.concatenate([km.predict(np.asarray(features[s : s + 8192], np.float32)) for s in range(0, n, 8192)])
    out: dict[str, Any] = {"method": "kmeans on frozen features", "k": int(k)}
    if n > BASELINE_FIT_ITEMS:
        out["fitted_on"] = BASELINE_FIT_ITEMS
    if labels is not None:
        mask = np.array([v is not None for v in labels])
        scores = label_scores(labels[mask].astype(str), pred[mask])
        out.update({m: round(scores[m], 5) for m in ("acc", "nmi", "ari", "purity")})
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def _baselines(ws: Workspace, fs: Any, X: np.ndarray, k: int, labels: np.ndarray | None, seed: int) -> dict[str, Any]:
    """Plain k-means on the clustered features; when those are not the default backbone's
    (e.g. the 2×2 grid), also on the default backbone's pooled features, as ``"pooled"``."""
    from core.embedding import load_features

    out = {**_baseline(X, k, labels, seed), "features": fs.backbone}
    if fs.backbone != DEFAULT_BACKBONE and ws.has(f"features/{DEFAULT_BACKBONE}"):
        pooled = load_features(ws, DEFAULT_BACKBONE)
        if np.array_equal(pooled.ids, fs.ids):
            out["pooled"] = {**_baseline(pooled.features, k, labels, seed),
                             "features": DEFAULT_BACKBONE}
    return out


# Above this many bytes of head inputs (items × (1 + views) × dims × 4), features are
# PCA-projected to AUTO_PCA_DIM dims (no whitening) first: a 50,000-item catalog's 2×2-grid
# features with 2 views are 3 GiB, and the loop holds a preprocessed copy. On Fashion-MNIST,
# PCA-512 clusters as well as the full 5120 dims (ACC 0.765 vs 0.768); on the small demo at
# k = 10 it costs 0.02 NMI, hence only where memory demands it.
AUTO_PCA_BYTES = 1 << 31
AUTO_PCA_DIM = 512


def effective_config(cfg: ClusterConfig, n_items: int, n_views: int, dim: int) -> ClusterConfig:
    """The configuration a run really uses: ``cfg``, with PCA switched on for large inputs."""
    if cfg.pca_dim is None and n_items * (1 + n_views) * dim * 4 > AUTO_PCA_BYTES:
        return replace(cfg, pca_dim=AUTO_PCA_DIM, whiten=False)
    return cfg


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
    from core.embedding import load_features

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
    baseline = _baselines(ws, fs, X, model.k_, labels, cfg.random_state) if cfg.baseline else None
    result = _write(ws, name, run_id, cfg, fs, model, labels, baseline, fit_seconds, ckpt)
    ckpt.unlink(missing_ok=True)
    return result


def _write(ws, name, run_id, cfg, fs, model, labels, baseline, fit_seconds, ckpt) -> ClusterResult:  # noqa: ANN001
    ids = np.asarray(fs.ids).astype(str)
    k = model.k_
    names = name_clusters(model.labels_, k, labels, fs.topk_idx, fs.topk_prob)
    reps = representatives(model.embedding_, model.labels_, model.centroids_, cfg.n_representatives)
    clusters = []
    for j in range(k):
        members = model.labels_ == j
        clusters.append({
            "cluster": j,
            "name": names[j].name,
            "label": names[j].label,
            "label_share": round(names[j].label_share, 4),
            "imagenet": list(names[j].imagenet),
            "size": int(members.sum()),
            "mean_confidence": round(float(model.confidence_[members].mean()), 4) if members.any() else None,
            "representative_ids": ids[reps[j]].tolist(),
            "novel_ids": ids[members & model.novel_].tolist(),
        })
    scores = None
    if labels is not None:
        mask = np.array([v is not None for v in labels])
        scores = label_scores(labels[mask].astype(str), model.labels_[mask])
        scores = {**{m: round(scores[m], 5) for m in ("acc", "nmi", "ari", "purity")}, "f1": scores["f1"],
                  "n_labelled": int(mask.sum())}
    summary = {
        "run_id": run_id,
        "backbone": fs.backbone,
        "n_items": int(len(ids)),
        "k": int(k),
        "epochs": int(model.n_epochs_),
        "stopped": model.stopped_,
        "seconds": round(fit_seconds, 2),
        "final": model.history_[-1],
        "scores": scores,
        "baseline": baseline,
    }
    assignments = pd.DataFrame({
        "item_id": ids,
        "cluster": model.labels_.astype(np.int64),
        "confidence": model.confidence_.astype(np.float32),
        "similarity": (model.embedding_ * model.centroids_[model.labels_]).sum(1).astype(np.float32),
        "novel": model.novel_,
        "label": pd.Series(list(labels) if labels is not None else [None] * len(ids), dtype="object"),
    })
    history_table = pd.DataFrame([{c: r.get(c) for c in HISTORY_COLUMNS} for r in model.history_])
    config = {**asdict(cfg), "run_id": run_id}
    with ws.write_artifact(name, config=config, parents={f"features/{fs.backbone}": fs.version}) as tmp:
        assignments.to_parquet(tmp / "assignments.parquet", index=False)
        history_table.to_parquet(tmp / "history.parquet", index=False)
        (tmp / "history.json").write_text(json.dumps(model.history_, indent=1))
        (tmp / "clusters.json").write_text(json.dumps(clusters, indent=1))
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1, default=_json_default))
        np.save(tmp / "centroids.npy", model.centroids_.astype(np.float32))
        np.save(tmp / "embedding.npy", model.embedding_.astype(np.float32))
        model.save_checkpoint(tmp / "heads.pt")
    return load_clustering(ws, run_id)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj)}")


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


@functools.lru_cache(maxsize=8)
def _saved_model(folder: str) -> tuple[AdaptiveDeepCluster, dict[int, str]]:
    """The trained heads and cluster names of one artifact version (its folder names the
    version, so the cache never serves a stale model; read-only)."""
    model = AdaptiveDeepCluster.from_checkpoint(Path(folder) / "heads.pt")
    clusters = json.loads((Path(folder) / "clusters.json").read_text())
    return model, {int(c["cluster"]): str(c["name"]) for c in clusters}


def assign_features(ws: Workspace, features: np.ndarray, run_id: str = "default") -> list[Assignment]:
    """Place backbone features (n, D) of new images in clustering ``run_id``: nearest centroid
    by cosine, with its name and confidence, or ``outlier`` when the novelty test fails."""
    require_clustering(ws, run_id)
    model, names = _saved_model(str(ws.artifact_dir(artifact_name(run_id))))
    a = model.assign(np.atleast_2d(np.asarray(features, dtype=np.float32)))
    out = []
    for j, novel, conf, sim in zip(a["labels"], a["novel"], a["confidence"], a["similarity"]):
        outlier = bool(novel)
        out.append(Assignment(
            run_id=run_id,
            cluster=None if outlier else int(j),
            name="outlier" if outlier else names.get(int(j), f"cluster {int(j)}"),
            confidence=round(float(conf), 4),
            similarity=round(float(sim), 4),
            outlier=outlier,
        ))
    return out


def assign_image(ws: Workspace, image: Any, run_id: str = "default") -> Assignment:
    """Embed one PIL image and place it in clustering ``run_id`` (see :func:`assign_features`)."""
    from core.embedding import embed_pil

    require_clustering(ws, run_id)
    backbone = str((ws.record(artifact_name(run_id)) or {}).get("config", {}).get("backbone", DEFAULT_BACKBONE))
    return assign_features(ws, embed_pil([image], backbone=backbone).features, run_id)[0]


def require_clustering(ws: Workspace, run_id: str) -> None:
    """:class:`MissingArtifactError` naming ``python -m core cluster`` when absent."""
    if not ws.has(artifact_name(run_id)):
        raise MissingArtifactError(
            f"workspace {ws.root} has no clustering {run_id!r}; build it with "
            f"`python -m core cluster --workspace {ws.root} --id {run_id}`"
        )
