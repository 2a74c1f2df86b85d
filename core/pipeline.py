"""The one way through: every step of Style Atlas, chained.

The CLI, the app's background jobs, benchmarks and tests call these functions. Each step reads
its inputs from the workspace and writes its artifact there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.embed.spec import COLOUR_BACKBONE, DEFAULT_BACKBONE, get_spec, siblings
from core.embed.step import EmbedConfig, EmbedReport, embed_workspace
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
    spec = get_spec(backbone)
    if spec.is_combined:
        return embed_combined(ws, backbone, config=config, progress=progress)
    cfg = replace(config or EmbedConfig(), backbone=backbone)
    if not spec.takes_views:
        cfg = replace(cfg, n_views=0)
    return embed_workspace(ws, cfg, progress=progress, also=siblings(backbone))


def embed_combined(ws: Workspace, backbone: str, *, config: EmbedConfig | None = None,
                   progress: Progress = None) -> EmbedReport:
    """A combined backbone (``BackboneSpec.parts``): embed each part's network (cached), then
    write ``features/<backbone>`` from the parts' artifacts (:mod:`core.embed.combined`)."""
    from core.embed.combined import write_combined

    spec = get_spec(backbone)
    networks = list(dict.fromkeys(get_spec(p).network or p for p, _ in spec.parts))
    reports = [embed(ws, n, config=config, progress=progress) for n in networks]
    write_combined(ws, spec)
    return EmbedReport(backbone, computed=max(r.computed for r in reports), cached=min(r.cached for r in reports),
                       total=reports[0].total, runtime=reports[0].runtime)


@dataclass(frozen=True)
class Step:
    """One step of the pipeline after ingestion.

    key : its entry in the run's summary ("cluster").
    name : the progress label ("cluster (DeepCluster)").
    artifact : what it writes ("clusters/default").
    purpose : what the artifact gives the stylist (the overview says it when it is missing).
    run : ``run(ws, config, progress) -> summary``.
    required : the app's pages need it (a workspace without it is incomplete).
    app : the app may build it in a background job once items and features exist.
    """

    key: str
    name: str
    artifact: str
    purpose: str
    run: Callable[[Workspace, RunConfig, Progress], Any]
    required: bool = True
    app: bool = True


def features_name(backbone: str = DEFAULT_BACKBONE) -> str:
    """The artifact name of a backbone's features (``features/efficientnet-lite0``)."""
    return f"features/{backbone}"


DEFAULT_FEATURES = features_name(DEFAULT_BACKBONE)
"""The features every page maps and searches by default."""
ITEMS = "items"
ITEMS_PURPOSE = "the catalog of photos"


def _cluster_backbone(cfg: RunConfig) -> str:
    """Cluster on the backbone's grid sibling where it has one (lite0 → lite0-2x2), else on it."""
    return (*siblings(cfg.backbone), cfg.backbone)[0]


def _cluster_step(ws: Workspace, cfg: RunConfig, progress: Progress) -> dict[str, Any]:
    from core.cluster import ClusterConfig

    return cluster(ws, ClusterConfig(backbone=_cluster_backbone(cfg)), progress=progress)


def steps(config: RunConfig | None = None) -> tuple[Step, ...]:
    """Every step after ingestion, in order, for ``config`` (the default run when None)."""
    cfg = config or RunConfig()
    embed_main = Step("embed", f"embed {cfg.backbone}", features_name(cfg.backbone),
                      f"frozen {cfg.backbone} features",
                      lambda ws, c, p: vars(embed(ws, c.backbone, config=c.embed, progress=p)), app=False)
    out = [embed_main]
    if cfg.colour_features:
        out.append(Step("embed_colour", f"embed {COLOUR_BACKBONE}", features_name(COLOUR_BACKBONE), "colour features",
                        lambda ws, c, p: vars(embed(ws, COLOUR_BACKBONE, progress=p)), required=False, app=False))
    out += [
        Step("cluster", "cluster (DeepCluster)", "clusters/default", "the discovered categories (Clusters, Training, map colours)",
             _cluster_step),
        Step("similarity", "similarity (triplet head)", "similarity/default",
             "the tuned similarity index (Search, neighbours, sliders)",
             lambda ws, c, p: similarity(ws, progress=p)),
        Step("serving", "export query models (ONNX)", "serving/default",
             "the query models the web process runs without torch (Search by image)",
             lambda ws, c, p: serving(ws, progress=p), required=False),
        Step("projection", "map of features (UMAP)", "projection/default", "the 2-D map (Explore)",
             lambda ws, c, p: project(ws, features_name(c.backbone), "default", progress=p)),
        Step("palette", "colour palettes", "palette/default", "the dominant colours of every piece (search by colour)",
             lambda ws, c, p: palette(ws, progress=p), required=False),
        Step("projection_tuned", "map of tuned embedding (UMAP)", "projection/tuned", "the 2-D map of the tuned embedding",
             lambda ws, c, p: project(ws, "similarity/default", "tuned", progress=p), required=False, app=False),
    ]
    return tuple(out)


def required_artifacts(config: RunConfig | None = None) -> list[tuple[str, str]]:
    """``(artifact, purpose)`` of what a complete workspace holds, in pipeline order."""
    return [(ITEMS, ITEMS_PURPOSE), *((s.artifact, s.purpose) for s in steps(config) if s.required)]


def app_steps(ws: Workspace, config: RunConfig | None = None) -> list[Step]:
    """The steps the app can run now in a background job: the catalog and the default features
    are present, and these steps' artifacts are absent."""
    cfg = config or RunConfig()
    if not ws.has(ITEMS) or not ws.has(features_name(cfg.backbone)):
        return []
    return [s for s in steps(cfg) if s.app and not ws.has(s.artifact)]


def missing_steps(ws: Workspace, config: RunConfig | None = None) -> list[Step]:
    """The steps after ingestion whose artifacts the workspace lacks, in order (what a build
    job runs; the features of a half-done embed resume from the feature cache)."""
    return [s for s in steps(config) if not ws.has(s.artifact)]


def embed_steps(config: RunConfig | None = None) -> list[Step]:
    """The embedding steps (each computes only the items its features lack)."""
    return [s for s in steps(config) if s.key.startswith("embed")]


def run_steps(ws: Workspace, todo: Sequence[Step], *, config: RunConfig | None = None,
              progress_factory: ProgressFactory | None = None) -> dict[str, Any]:
    """Run ``todo`` (from :func:`steps`) in order; their summaries by step key."""
    cfg = config or RunConfig()
    factory = progress_factory or (lambda _name: None)
    return {s.key: s.run(ws, cfg, factory(s.name)) for s in todo}


def run(ws: Workspace, source: str | os.PathLike[str] | None = None, *, config: RunConfig | None = None,
        progress_factory: ProgressFactory | None = None) -> dict[str, Any]:
    """Ingest ``source`` (default: the bundled demo catalog), then run every step in order.

    Returns a summary per step key (``ingest``, ``embed``, ``cluster``, ...).
    """
    cfg = config or RunConfig()
    factory = progress_factory or (lambda _name: None)
    src = source if source is not None else DEMO_CATALOG
    summary: dict[str, Any] = {"ingest": ingest(ws, src, config=cfg.ingest, progress=factory("ingest")).to_dict()}
    summary.update(run_steps(ws, steps(cfg), config=cfg, progress_factory=factory))
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


def palette(ws: Workspace, *, progress: Progress = None) -> dict[str, int]:
    """The dominant colours of every item (k-means on thumbnails, background masked), as ``palette/default``."""
    from core.palette import palette_workspace

    return palette_workspace(ws, progress=progress)


def project(ws: Workspace, source: str, run_id: str = "default", *, progress: Progress = None) -> str:
    """The 2-D UMAP map of a features or similarity artifact, as ``projection/<run_id>``."""
    from core.projection import project_workspace

    return project_workspace(ws, source=source, run_id=run_id, progress=progress)


def serving(ws: Workspace, run_id: str = "default", *, progress: Progress = None) -> dict[str, Any]:
    """The backbone, similarity head and clustering head in ONNX, as ``serving/<run_id>``: what a
    web process needs to embed a query without torch (:mod:`core.serving`)."""
    from core.progress import report
    from core.serving.export import export_serving

    report(progress, 0, 1)
    desc = export_serving(ws, run_id)
    report(progress, 1, 1)
    return {"run_id": run_id, "space": desc["space"], "cluster": (desc["cluster"] or {}).get("run")}
