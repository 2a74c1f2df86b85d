"""Placing new images in a saved clustering: nearest cluster, its name, or ``outlier``."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.cluster.estimator import AdaptiveDeepCluster
from core.cluster.result import artifact_name, require_clustering
from core.embed.spec import DEFAULT_BACKBONE
from core.workspace import Workspace


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
    from core.embed.onthefly import embed_pil

    require_clustering(ws, run_id)
    backbone = str((ws.record(artifact_name(run_id)) or {}).get("config", {}).get("backbone", DEFAULT_BACKBONE))
    return assign_features(ws, embed_pil([image], backbone=backbone).features, run_id)[0]
