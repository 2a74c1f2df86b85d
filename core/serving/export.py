"""Build time: export what a query needs to ONNX, as the workspace artifact ``serving/<run_id>``.

Files of a version:

==========================  ===========================================================
``backbone.onnx``           the backbone's feature map, (B, 3, S, S) -> (B, C, h, w); the
                            file :func:`core.embed.onnx.export` writes (one exporter)
``similarity_head.onnx``    the triplet head, (B, D) -> (B, d) unit rows (tuned space only)
``cluster_projection.onnx`` the clustering's projection head, (B, D') -> (B, 256) unit rows
``cluster.npz``             preprocessing ``pre_mean`` (D,), ``pre_components`` (p, D) (or
                            empty), ``pre_scale`` (D',); ``centroids`` (k, 256)
``serving.json``            what the files are: backbone, input size, mean/std, grids, the
                            similarity space, the clustering run, its novelty thresholds
==========================  ===========================================================
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from core.embed.spec import get_spec, siblings
from core.errors import MissingArtifactError
from core.workspace import Workspace

__all__ = ["FORMAT", "artifact_name", "export_serving"]

FORMAT = 1  # bump when the files or serving.json change meaning
OPSET = 17


def artifact_name(run_id: str = "default") -> str:
    """``serving/<run_id>``."""
    return f"serving/{run_id}"


def _export_module(module: Any, in_dim: int, path: Path) -> None:
    """``module`` (eval mode; (B, in_dim) float32 -> (B, out)) to an ONNX file, dynamic batch."""
    import torch

    module.eval()
    x = torch.zeros(2, in_dim)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "b"}, "y": {0: "b"}}, opset_version=OPSET, dynamo=False)


def _backbone(folder: Path, backbone: str) -> dict[str, Any]:
    """Copy the backbone's feature-map ONNX file into ``folder``; its description."""
    from core.embed.extractor import load_network
    from core.embed.onnx import export
    from core.embed.runtime import runtime_of

    spec = get_spec(backbone)
    if not spec.has_network:
        raise MissingArtifactError(f"backbone {backbone!r} has no network to export")
    model = load_network(spec, runtime=runtime_of("fp32"))
    shutil.copyfile(export(model, spec.model_name, spec.input_size), folder / "backbone.onnx")
    grids = {name: get_spec(name).grid for name in (spec.name, *siblings(spec.model_name))}
    return {"backbone": spec.name, "network": spec.model_name, "input_size": spec.input_size,
            "mean": list(spec.mean), "std": list(spec.std), "grids": grids}


def _cluster(ws: Workspace, folder: Path, run: str) -> dict[str, Any]:
    """Export clustering ``run``'s projection head and arrays into ``folder``; its description."""
    from core.cluster.estimator import AdaptiveDeepCluster
    from core.cluster.result import artifact_name as cluster_name

    src = ws.artifact_dir(cluster_name(run))
    model = AdaptiveDeepCluster.from_checkpoint(src / "heads.pt")
    pre = model.preprocessing_
    _export_module(model.projection_, int(model.projection_.in_dim), folder / "cluster_projection.onnx")
    comps = np.zeros((0, pre.raw_dim), np.float32) if pre.components is None else pre.components
    np.savez(folder / "cluster.npz", pre_mean=pre.mean, pre_components=comps, pre_scale=pre.scale,
             centroids=np.asarray(model.centroids_, np.float32))
    nov = model.novelty_config
    backbone = (ws.record(cluster_name(run)) or {}).get("config", {}).get("backbone")
    return {"run": run, "backbone": str(backbone), "novelty_mu": float(model.novelty_mu_),
            "novelty_sigma": float(model.novelty_sigma_), "n_sigma": float(nov.n_sigma),
            "min_confidence": float(nov.min_confidence)}


def export_serving(ws: Workspace, run_id: str = "default", cluster_run: str | None = None) -> dict[str, Any]:
    """Write ``serving/<run_id>`` from ``similarity/<run_id>`` and the clustering a query is placed
    in (``cluster_run``; default as :func:`core.similarity.placement.cluster_run_of`); its
    ``serving.json``. MissingArtifactError naming the command when the similarity step never ran."""
    from core.cluster.result import artifact_name as cluster_name
    from core.similarity.artifact import artifact_name as similarity_name
    from core.similarity.artifact import load_similarity
    from core.similarity.placement import cluster_run_of

    sim = similarity_name(run_id)
    art = load_similarity(ws, run_id)  # MissingArtifactError naming `python -m core similarity`
    run, _ = cluster_run_of(ws, cluster_run)
    parents = {sim: art.version}
    if run is not None:
        parents[cluster_name(run)] = int(ws.version(cluster_name(run)) or 0)
    with ws.write_artifact(artifact_name(run_id), {"format": FORMAT, "similarity": run_id, "cluster_run": run},
                           parents) as tmp:
        desc: dict[str, Any] = {"format": FORMAT, **_backbone(tmp, art.backbone), "space": art.space,
                                "parents": parents, "cluster": None}
        if art.space == "tuned":
            from core.similarity.estimator import TripletEmbedder

            head = TripletEmbedder.load(art.path / "head.pt").head_
            _export_module(head, int(head.mean.shape[0]), tmp / "similarity_head.onnx")
        if run is not None:
            desc["cluster"] = _cluster(ws, tmp, run)
        (tmp / "serving.json").write_text(json.dumps(desc, indent=2))
    return desc
