"""A serving bundle: a workspace built at deploy time holding only what the web process reads.

The platform's build step (Heroku ``bin/post_compile``, Render's ``buildCommand``) runs
``python -m core bundle --workspace workspaces/demo``: every pipeline step whose artifact is
missing runs (:mod:`core.pipeline`, the one list of steps), one query warms the forward pass
(so an ONNX export lands in the bundle's ``onnx/`` folder where the runtime makes one), and
what only building needs is removed: the feature cache and clustering checkpoints (``cache/``),
earlier artifact versions, half-written ``.tmp-`` folders and the build's status file. A
``bundle.json`` records the artifact versions it was made of. The web process then finds
nothing missing and serves at once: no rebuild on a restarted dyno.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core import pipeline
from core.errors import StyleAtlasError
from core.workspace import Workspace

__all__ = ["BUNDLE_FILE", "ONNX_DIR", "BundleReport", "bundle_onnx_cache", "is_bundle", "make_bundle", "prune"]

BUNDLE_FILE = "bundle.json"
ONNX_DIR = "onnx"  # the bundle's ONNX exports ($STYLE_ATLAS_ONNX_CACHE while building and serving)


@dataclass(frozen=True)
class BundleReport:
    """What :func:`make_bundle` did: steps run, paths removed, the bundle's size."""

    steps_run: list[str]
    removed: list[str]
    artifacts: dict[str, int]
    bytes: int
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def bundle_onnx_cache(ws: Workspace) -> Path:
    """Where a bundle keeps its ONNX exports."""
    return ws.root / ONNX_DIR


def prune(ws: Workspace) -> list[str]:
    """Remove from ``ws`` what serving never reads; the removed paths, relative to the workspace.

    Kept: ``manifest.json``, the current version of every artifact, ``items``' images and
    thumbnails, the annotations database, ``onnx/``. Removed: ``cache/`` (feature shards,
    clustering checkpoints), every ``v<N>`` the manifest does not point to, ``.tmp-`` folders.
    """
    removed: list[str] = []

    def drop(path: Path) -> None:
        removed.append(str(path.relative_to(ws.root)))
        shutil.rmtree(path) if path.is_dir() else path.unlink()

    if ws.cache_dir.exists():
        drop(ws.cache_dir)
    current = {ws.root / str(rec["path"]) for rec in ws.manifest()["artifacts"].values()}
    for name in ws.names():
        base = ws.root / name
        for old in sorted(base.iterdir()):
            if old.is_dir() and (old.name.startswith(".tmp-") or (old.name[:1] == "v" and old not in current)):
                drop(old)
    status = ws.root.parent / f".{ws.root.name}.build.json"  # components.build_status's file
    if status.exists():
        drop(status)
    return removed


def is_bundle(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a bundle whose recorded artifact versions are the manifest's."""
    root = Path(path)
    try:
        recorded = json.loads((root / BUNDLE_FILE).read_text())["artifacts"]
        ws = Workspace.open(root)
        return bool(recorded) and all(ws.version(n) == v for n, v in recorded.items())
    except (OSError, ValueError, KeyError, TypeError, StyleAtlasError):  # not a usable bundle
        return False


def make_bundle(ws: Workspace, source: str | os.PathLike[str] | None = None, *,
                config: pipeline.RunConfig | None = None,
                progress_factory: pipeline.ProgressFactory | None = None,
                warm: Callable[[Workspace], None] | None = None) -> BundleReport:
    """Build what is missing of ``ws`` (ingesting ``source``, default the demo catalog, when it
    has no items), warm the query path, prune, and write ``bundle.json``.

    ``warm``: run once on the built workspace (default :func:`core.similarity.query.warm_up`;
    the CLI points ``$STYLE_ATLAS_ONNX_CACHE`` into the bundle first, :func:`bundle_onnx_cache`).
    """
    t0 = time.perf_counter()
    cfg = config or pipeline.RunConfig()
    factory = progress_factory or (lambda _name: None)
    summary: dict[str, Any] = {}
    steps_run: list[str] = []
    if not ws.has(pipeline.ITEMS):
        src = source if source is not None else pipeline.DEMO_CATALOG
        summary["ingest"] = pipeline.ingest(ws, src, config=cfg.ingest, progress=factory("ingest")).to_dict()
        steps_run.append("ingest")
    todo = [s for s in pipeline.steps(cfg) if not ws.has(s.artifact)]
    summary.update(pipeline.run_steps(ws, todo, config=cfg, progress_factory=factory))
    steps_run += [s.key for s in todo]
    if warm is None:
        from core.similarity.query import warm_up

        warm = warm_up
    warm(ws)
    removed = prune(ws)
    artifacts = {n: int(ws.version(n) or 0) for n in ws.names()}
    (ws.root / BUNDLE_FILE).write_text(json.dumps({"artifacts": artifacts, "created": time.time()}, indent=1))
    return BundleReport(steps_run, removed, artifacts, _size(ws.root), round(time.perf_counter() - t0, 1), summary)
