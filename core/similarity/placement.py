"""Where a query lands among the clusters: the clustering run to use, its backbone, and the
cluster of a query image (assigned from its features) or of a catalog item (stored)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import StyleAtlasError
from core.workspace import Workspace

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["cluster_backbones", "cluster_of_features", "cluster_of_item", "cluster_run_of"]


def cluster_backbones(ws: Workspace, cluster_run: str | None = None) -> tuple[str, ...]:
    """The backbone of the clustering a query would be placed in (empty without one)."""
    run, _ = cluster_run_of(ws, cluster_run)
    backbone = None if run is None else _clustering_backbone(ws, run)
    return (backbone,) if backbone else ()


def _clustering_backbone(ws: Workspace, run: str) -> str | None:
    """The backbone whose features the clustering ``run`` was made on."""
    from core.cluster.result import artifact_name

    backbone = (ws.record(artifact_name(run)) or {}).get("config", {}).get("backbone")
    return str(backbone) if backbone else None


def cluster_run_of(ws: Workspace, cluster_run: str | None = None) -> tuple[str | None, str | None]:
    """(clustering run to use, None) or (None, why there is none)."""
    runs = [n.split("/", 1)[1] for n in ws.names("clusters/")]
    if not runs:
        return None, "no clustering in this workspace"
    run = cluster_run or ("default" if "default" in runs else runs[0])
    if run not in runs:
        return None, f"no clustering {run!r}; known: {', '.join(runs)}"
    return run, None


def cluster_of_features(ws: Workspace, features: dict[str, np.ndarray], data: bytes | Image.Image,
                        cluster_run: str | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """The cluster of a query image: (assignment dict, with ``"name": "outlier"`` for an
    outlier, None) or (None, why not). ``features`` maps backbone names to the image's (D,)
    features (as :func:`embed_query` gives them); when the clustering's backbone is not among
    them, ``data`` (the decoded image, or its bytes) is embedded anew. The workspace's current
    ONNX query models (:mod:`core.serving.models`) place it where they hold this clustering;
    otherwise the torch heads do."""
    from core.serving.models import serving_models

    run, why = cluster_run_of(ws, cluster_run)
    if run is None:
        return None, why
    try:
        backbone = _clustering_backbone(ws, run)
        models = serving_models(ws)
        model = None if models is None else models.cluster
        if model is not None and model.run == run and backbone == model.backbone and backbone in features:
            return _assignment(run, model.assign(features[backbone][None]), model.names), None
        from core.cluster.assign import assign_features, assign_image
        from core.images import decode_image

        if backbone in features:
            return assign_features(ws, features[backbone], run)[0].to_dict(), None
        image = decode_image(data) if isinstance(data, bytes) else data
        return assign_image(ws, image, run).to_dict(), None
    except StyleAtlasError as exc:
        return None, str(exc)


def _assignment(run: str, a: dict[str, np.ndarray], names: dict[int, str]) -> dict[str, Any]:
    """The first row of an ``assign`` result as :class:`core.cluster.assign.Assignment` writes it."""
    j, outlier = int(a["labels"][0]), bool(a["novel"][0])
    return {"run_id": run, "cluster": None if outlier else j,
            "name": "outlier" if outlier else names.get(j, f"cluster {j}"),
            "confidence": round(float(a["confidence"][0]), 4), "similarity": round(float(a["similarity"][0]), 4),
            "outlier": outlier}


def cluster_of_item(ws: Workspace, item_id: str, cluster_run: str | None = None,
                    ) -> tuple[dict[str, Any] | None, str | None]:
    """A catalog item's stored cluster: (assignment dict, None) or (None, why not)."""
    from core.cluster.result import load_clustering

    run, why = cluster_run_of(ws, cluster_run)
    if run is None:
        return None, why
    result = load_clustering(ws, run)
    rows = np.flatnonzero(result.ids == item_id)
    if not len(rows):
        return None, f"item {item_id} is newer than clustering {run!r}"
    i = int(rows[0])
    cluster = int(result.labels[i])
    outlier = bool(result.novel[i])  # flagged by the novelty test, as a new image would be
    names = {int(c["cluster"]): c["name"] for c in result.clusters}
    return {"run_id": run, "cluster": cluster, "outlier": outlier,
            "name": "outlier" if outlier else names.get(cluster, f"cluster {cluster}"),
            "confidence": round(float(result.confidence[i]), 4)}, None
