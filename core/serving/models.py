"""Serve time: the query models of ``serving/<run>`` in ONNX Runtime, numpy around them, no torch.

:func:`serving_models` gives the :class:`ServingModels` of a workspace when its serving artifact
is current (its parents are the workspace's present similarity and clustering versions), else
None, and the caller takes the torch path. Loaded once per process and artifact version.

Sessions run with ``STYLE_ATLAS_QUERY_THREADS`` intra-op threads (default 1: a query is one
224 px image, and the web process's threads already run requests side by side), no CPU memory
arena (freed activations go back to the allocator instead of a per-session pool) and no
spinning threads.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.cluster.distances import centroid_distances
from core.cluster.novelty import NoveltyConfig, novel_mask
from core.embed.preprocess import fit_square
from core.errors import InvalidInputError, StyleAtlasError
from core.serving.export import FORMAT, artifact_name
from core.similarity.served import FrozenEmbedder
from core.workspace import Workspace

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["ENGINE_ENV", "THREADS_ENV", "ClusterModel", "OnnxHead", "ServingModels", "grid_pool", "serving_models",
           "session"]

ENGINE_ENV = "STYLE_ATLAS_QUERY_ENGINE"  # "torch" forces the torch query path (for comparisons)
THREADS_ENV = "STYLE_ATLAS_QUERY_THREADS"
log = logging.getLogger(__name__)


def session(path: Path) -> Any:
    """An ONNX Runtime session for ``path``, on the CPU, sized for a web process."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, int(os.environ.get(THREADS_ENV) or 1))
    opts.inter_op_num_threads = 1
    opts.enable_cpu_mem_arena = False
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def grid_pool(fmap: np.ndarray, grid: int) -> np.ndarray:
    """Average a feature map (B, C, h, w) over a ``grid`` × ``grid`` layout, as torch's
    ``adaptive_avg_pool2d`` does (cells may overlap), flattened channel-major: (B, C · grid²)."""
    if grid == 1:
        return fmap.mean(axis=(2, 3))
    b, c, h, w = fmap.shape
    cells = np.empty((b, c, grid, grid), np.float32)
    for i in range(grid):
        r0, r1 = (i * h) // grid, -((-(i + 1) * h) // grid)
        for j in range(grid):
            c0, c1 = (j * w) // grid, -((-(j + 1) * w) // grid)
            cells[:, :, i, j] = fmap[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return cells.reshape(b, -1)


class OnnxHead:
    """An exported head: ``transform`` (..., D) float32 -> (..., d) float32 unit rows."""

    def __init__(self, path: Path) -> None:
        self.session = session(path)

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        flat = np.ascontiguousarray(X.reshape(-1, X.shape[-1]))
        out = self.session.run(None, {"x": flat})[0]
        return np.asarray(out, np.float32).reshape(*X.shape[:-1], out.shape[-1])


@dataclass(frozen=True)
class ClusterModel:
    """A clustering's projection head (ONNX) and arrays: places new features as
    ``AdaptiveDeepCluster.assign`` does."""

    run: str
    backbone: str
    head: OnnxHead
    pre_mean: np.ndarray  # (D,)
    pre_components: np.ndarray | None  # (p, D) or None
    pre_scale: np.ndarray  # (D',)
    centroids: np.ndarray  # (k, out_dim)
    novelty: NoveltyConfig
    stats: tuple[float, float]  # novelty mu, sigma of the fit
    names: dict[int, str]

    def assign(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Features (n, D) -> ``{"labels", "confidence", "similarity", "novel"}`` (n,) each."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float32))
        if X.shape[1] != self.pre_mean.shape[0]:
            raise InvalidInputError(f"features have D={X.shape[1]} but the clustering was fitted on "
                                    f"D={self.pre_mean.shape[0]}")
        P = X - self.pre_mean
        if self.pre_components is not None:
            P = P @ self.pre_components.T
        Z = self.head.transform(P / self.pre_scale)
        dist = centroid_distances(Z, self.centroids)
        novel = novel_mask(dist, self.novelty, stats=self.stats)
        sim = (Z * self.centroids[dist.nearest]).sum(1)
        return {"labels": dist.nearest, "confidence": dist.confidence, "similarity": sim, "novel": novel}


@dataclass(frozen=True)
class ServingModels:
    """The query models of one ``serving/<run>`` version."""

    backbone: str
    input_size: int
    mean: np.ndarray  # (3,)
    std: np.ndarray  # (3,)
    grids: dict[str, int]  # backbone name -> grid its features are pooled over
    network: Any  # the backbone's ONNX Runtime session
    head: OnnxHead | FrozenEmbedder
    cluster: ClusterModel | None

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """(3, S, S) float32 network input, as :func:`core.embed.preprocess.preprocess`."""
        arr = np.asarray(fit_square(image, self.input_size), dtype=np.float32) / 255.0
        return np.ascontiguousarray(((arr - self.mean) / self.std).transpose(2, 0, 1), dtype=np.float32)

    def features(self, images: list[Image.Image], names: tuple[str, ...]) -> dict[str, np.ndarray]:
        """One forward pass: (n, D) float32 features per backbone in ``names`` that this network
        gives (the others are left out)."""
        x = np.stack([self.preprocess(im) for im in images])
        fmap = np.asarray(self.network.run(None, {"x": x})[0], np.float32)
        return {n: grid_pool(fmap, self.grids[n]) for n in dict.fromkeys(names) if n in self.grids}


def _cluster_model(folder: Path, desc: dict[str, Any], cluster_dir: Path) -> ClusterModel:
    arrays = np.load(folder / "cluster.npz")
    comps = arrays["pre_components"]
    clusters = json.loads((cluster_dir / "clusters.json").read_text())
    return ClusterModel(
        run=str(desc["run"]), backbone=str(desc["backbone"]), head=OnnxHead(folder / "cluster_projection.onnx"),
        pre_mean=arrays["pre_mean"], pre_components=comps if len(comps) else None, pre_scale=arrays["pre_scale"],
        centroids=arrays["centroids"], novelty=NoveltyConfig(float(desc["n_sigma"]), float(desc["min_confidence"])),
        stats=(float(desc["novelty_mu"]), float(desc["novelty_sigma"])),
        names={int(c["cluster"]): str(c["name"]) for c in clusters})


@functools.lru_cache(maxsize=4)
def _load(root: str, run_id: str, version: int) -> ServingModels:
    """Load one serving version once per process (read-only)."""
    ws = Workspace(root, create=False)
    folder = ws.artifact_dir(artifact_name(run_id))
    desc = json.loads((folder / "serving.json").read_text())
    head: OnnxHead | FrozenEmbedder = (OnnxHead(folder / "similarity_head.onnx") if desc["space"] == "tuned"
                                       else FrozenEmbedder())
    cluster = None
    if desc.get("cluster"):
        cluster = _cluster_model(folder, desc["cluster"], ws.artifact_dir(f"clusters/{desc['cluster']['run']}"))
    return ServingModels(
        backbone=str(desc["backbone"]), input_size=int(desc["input_size"]),
        mean=np.asarray(desc["mean"], np.float32), std=np.asarray(desc["std"], np.float32),
        grids={str(k): int(v) for k, v in desc["grids"].items()}, network=session(folder / "backbone.onnx"),
        head=head, cluster=cluster)


def _current(ws: Workspace, run_id: str) -> int | None:
    """The version of ``serving/<run_id>`` when it matches the workspace's artifacts, else None."""
    rec = ws.record(artifact_name(run_id))
    if rec is None or rec.get("config", {}).get("format") != FORMAT:
        return None
    parents = rec.get("parents") or {}
    if any(ws.version(name) != version for name, version in parents.items()):
        return None
    return int(rec["version"])


def serving_models(ws: Workspace, run_id: str = "default") -> ServingModels | None:
    """The ONNX query models of ``serving/<run_id>`` when it is current, else None (missing, stale,
    unreadable, onnxruntime not installed, or ``STYLE_ATLAS_QUERY_ENGINE=torch``)."""
    if os.environ.get(ENGINE_ENV, "").strip().lower() == "torch":
        return None
    try:
        version = _current(ws, run_id)
        if version is None:
            return None
        return _load(str(Path(ws.root).resolve()), run_id, version)
    except (StyleAtlasError, OSError, KeyError, ValueError, ImportError, RuntimeError) as exc:
        log.warning("serving/%s unusable, queries take the torch path: %s", run_id, exc)
        return None
