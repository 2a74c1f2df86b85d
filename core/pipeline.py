"""The one way through: every step of Style Atlas, chained.

The CLI, the app's background jobs, benchmarks and tests call these functions. Each step reads
its inputs from the workspace and writes its artifact there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.backbones import DEFAULT_BACKBONE, siblings
from core.embedding import EmbedConfig, EmbedReport, embed_workspace
from core.images import IngestConfig, IngestReport
from core.images import ingest as ingest_source
from core.progress import Progress
from core.workspace import Workspace

DEMO_CATALOG = Path(__file__).resolve().parent.parent / "data" / "demo" / "catalog.csv"

ProgressFactory = Callable[[str], Progress]
"""``factory(step_name)`` gives the progress callback of one step (or None)."""


@dataclass(frozen=True)
class RunConfig:
    """Configuration of a whole pipeline run."""

    backbone: str = DEFAULT_BACKBONE
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    colour_features: bool = True  # also compute the colour-histogram features


def ingest(ws: Workspace, source: str | os.PathLike[str], *, skip_missing: bool = False,
           config: IngestConfig | None = None, progress: Progress = None) -> IngestReport:
    """Add a folder or catalog CSV of images to the workspace."""
    return ingest_source(ws, source, config=config, skip_missing=skip_missing, progress=progress)


def embed(ws: Workspace, backbone: str = DEFAULT_BACKBONE, *, config: EmbedConfig | None = None,
          progress: Progress = None) -> EmbedReport:
    """Compute (or take from the cache) the features of every item with ``backbone``, and of
    its siblings (``efficientnet-lite0`` also gives the 2×2-grid features clustering uses)."""
    cfg = replace(config or EmbedConfig(), backbone=backbone)
    if backbone == "colour-histogram":
        cfg = replace(cfg, n_views=0)
    return embed_workspace(ws, cfg, progress=progress, also=siblings(backbone))


def run(ws: Workspace, source: str | os.PathLike[str] | None = None, *, config: RunConfig | None = None,
        progress_factory: ProgressFactory | None = None) -> dict[str, Any]:
    """Run every step in order; without ``source`` the bundled demo catalog is used.

    Returns a summary per step.
    """
    cfg = config or RunConfig()
    step = progress_factory or (lambda _name: None)
    summary: dict[str, Any] = {}
    src = source if source is not None else DEMO_CATALOG
    summary["ingest"] = ingest(ws, src, config=cfg.ingest, progress=step("ingest")).to_dict()
    summary["embed"] = vars(embed(ws, cfg.backbone, config=cfg.embed, progress=step(f"embed {cfg.backbone}")))
    if cfg.colour_features:
        summary["embed_colour"] = vars(embed(ws, "colour-histogram", progress=step("embed colour-histogram")))
    from core.cluster import ClusterConfig

    # cluster on the backbone's grid sibling where it has one (lite0 → lite0-2x2), else on it
    cluster_backbone = (*siblings(cfg.backbone), cfg.backbone)[0]
    summary["cluster"] = cluster(ws, ClusterConfig(backbone=cluster_backbone), progress=step("cluster (DeepCluster)"))
    summary["similarity"] = similarity(ws, progress=step("similarity (triplet head)"))
    summary["projection"] = project(ws, f"features/{cfg.backbone}", "default", progress=step("map of features (UMAP)"))
    summary["projection_tuned"] = project(ws, "similarity/default", "tuned", progress=step("map of tuned embedding (UMAP)"))
    return summary


def cluster(ws: Workspace, config: Any = None, run_id: str = "default", *, progress: Progress = None) -> dict[str, Any]:
    """Adaptive DeepCluster on the cached features, as ``clusters/<run_id>``; its final epoch record."""
    from core.cluster import cluster_workspace

    result = cluster_workspace(ws, config, run_id=run_id, progress=progress)
    return {"run_id": run_id, "k": int(result.k), "epochs": len(result.history)}


def similarity(ws: Workspace, config: Any = None, run_id: str = "default", *, progress: Progress = None) -> dict[str, Any]:
    """Triplet-tuned embedding, Annoy index and directions, as ``similarity/<run_id>``."""
    from core.similarity.step import train_similarity

    return train_similarity(ws, config, run_id=run_id, progress=progress)


def project(ws: Workspace, source: str, run_id: str = "default", *, progress: Progress = None) -> str:
    """The 2-D UMAP map of a features or similarity artifact, as ``projection/<run_id>``."""
    from core.projection import project_workspace

    return project_workspace(ws, source=source, run_id=run_id, progress=progress)
