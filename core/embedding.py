"""Batched feature extraction with a frozen backbone, cached per item.

A DataLoader's worker processes decode and preprocess images while the model runs. Each image
gives the features of the original and of ``n_views`` augmented views (see
:mod:`core.augment`). Results go to the :class:`~core.feature_cache.FeatureCache` as batches
finish; the ``features/<backbone>`` artifact is then assembled in catalog order, streamed to
disk from the shards and from the previous artifact (for items it already held), and the shards
are cleared once it is committed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from core.augment import augmented_view, view_rng
from core.backbones import DEFAULT_BACKBONE, PREPROCESS_VERSION, BackboneSpec, FeatureExtractor, get_spec, preprocess
from core.errors import InvalidInputError, MissingArtifactError
from core.feature_cache import CachedFeatures, CacheKey, FeatureCache
from core.progress import Progress, report
from core.ray_config import RayConfig
from core.runtime import Runtime
from core.workspace import Workspace, build_command

if TYPE_CHECKING:
    pass

TOPK = 5


@dataclass(frozen=True)
class EmbedConfig:
    """How features are extracted."""

    backbone: str = DEFAULT_BACKBONE
    n_views: int = 2  # augmented views per image, besides the original
    view_seed: int = 0
    batch_size: int = 32  # images per DataLoader batch (each with its views)
    forward_batch: int = 32  # images, views included, per forward pass: bounds peak memory
    # DataLoader processes decoding images while the model runs (0: in the main process). The
    # default keeps two cores for the model's threads: on a 2-core machine a decoding process
    # only competes with the forward pass (measured in bench/bench_embedding.py).
    workers: int = field(default_factory=lambda: default_workers())
    threads: int = 0  # torch intra-op threads (0: torch's default)
    runtime: Runtime = "auto"  # numeric runtime of the forward pass (core.runtime.RUNTIMES); auto: per CPU
    ray: RayConfig | None = None  # run the forward passes on a Ray cluster (core.embed_ray) instead of here

    def cache_key(self) -> CacheKey:
        return CacheKey(self.backbone, PREPROCESS_VERSION, self.n_views, self.view_seed)


@dataclass(frozen=True)
class FeatureSet:
    """A ``features/<backbone>`` artifact. Row i of every array is item ``ids[i]``.

    ids (N,) str; features (N, D) float32; views (N, V, D) float32 or None;
    topk_idx (N, 5) int16 and topk_prob (N, 5) float32 (ImageNet top-5) or None.
    """

    backbone: str
    version: int
    ids: np.ndarray
    features: np.ndarray
    views: np.ndarray | None
    topk_idx: np.ndarray | None
    topk_prob: np.ndarray | None


@dataclass(frozen=True)
class EmbedOutput:
    """Features of images embedded on the fly: features (n, D); topk_* (n, 5) or None;
    siblings: backbone name → (n, D') features of sibling backbones from the same pass."""

    features: np.ndarray
    topk_idx: np.ndarray | None
    topk_prob: np.ndarray | None
    siblings: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class EmbedReport:
    backbone: str
    computed: int  # images run through the network now (for the backbone or a sibling)
    cached: int  # images whose features all came from the cache
    total: int
    siblings: list[str] = field(default_factory=list)  # backbones written from the same pass


class _ViewsDataset:
    """Item i → (1 + V, 3, S, S) float32 tensor of its original and augmented views."""

    def __init__(self, paths: list[Path], ids: list[str], cfg: EmbedConfig) -> None:
        self.paths, self.ids, self.cfg = paths, ids, cfg
        self.spec = get_spec(cfg.backbone)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Any:
        import torch

        with Image.open(self.paths[i]) as im:
            return torch.from_numpy(item_views(im.convert("RGB"), self.ids[i], self.cfg, self.spec))


def item_views(image: Image.Image, item_id: str, cfg: EmbedConfig, spec: BackboneSpec) -> np.ndarray:
    """(1 + V, 3, S, S) float32: the preprocessed original of item ``item_id`` and its V views."""
    views = [image] + [augmented_view(image, view_rng(item_id, v, cfg.view_seed)) for v in range(1, cfg.n_views + 1)]
    return np.stack([preprocess(spec, v) for v in views])


@dataclass(frozen=True)
class EmbeddedBatch:
    """The features of a batch of b items: ``ids`` (b,); ``feats``, one (b, 1 + V, D) float32
    array per backbone of the pass (the original first); ``topk_idx`` (b, 5) int16 and
    ``topk_prob`` (b, 5) float32 of the originals, or None."""

    ids: np.ndarray
    feats: list[np.ndarray]
    topk_idx: np.ndarray | None
    topk_prob: np.ndarray | None


def embed_batch(extractor: FeatureExtractor, ids: Any, batch: Any, specs: list[BackboneSpec],
                chunk: int) -> EmbeddedBatch:
    """One batch through the network: ``batch`` (b, 1 + V, 3, S, S) tensor of items ``ids``;
    every spec of ``specs`` shares the pass (its own pooling grid)."""
    b, v = batch.shape[:2]
    flat = batch.reshape(b * v, *batch.shape[2:])
    feats, probs = _forward(extractor, flat, tuple(s.grid for s in specs), chunk)
    tk_i = tk_p = None
    if probs is not None:
        tk_i, tk_p = _topk(probs.numpy().reshape(b, v, -1)[:, 0])
    rows = [f.numpy().reshape(b, v, s.dim).astype(np.float32, copy=False) for s, f in zip(specs, feats)]
    return EmbeddedBatch(np.asarray(ids), rows, tk_i, tk_p)


def _topk(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.argsort(-probs, axis=1)[:, :TOPK]
    return idx.astype(np.int16), np.take_along_axis(probs, idx, axis=1).astype(np.float32)


def embed_workspace(
    ws: Workspace, config: EmbedConfig | None = None, progress: Progress = None, also: tuple[str, ...] = ()
) -> EmbedReport:
    """Compute the features of every catalog item that the cache lacks, then write the
    ``features/<backbone>`` artifact.

    ``also`` names sibling backbones of the same network and input size (e.g.
    ``efficientnet-lite0-2x2`` beside ``efficientnet-lite0``): their features come from the same
    forward pass and get their own artifacts. The report is the main backbone's.
    """
    import torch

    cfg = config or EmbedConfig()
    spec = get_spec(cfg.backbone)
    cfgs = [cfg] + [replace(cfg, backbone=b) for b in dict.fromkeys(also) if b != cfg.backbone]
    specs = [get_spec(c.backbone) for c in cfgs]
    for other in specs[1:]:
        if not spec.shares_pass_with(other):
            raise InvalidInputError(
                f"{other.name} cannot share a forward pass with {spec.name}: a different network or input size"
            )
    items = ws.items()
    if items.empty:
        raise MissingArtifactError(
            f"workspace {ws.root} has no items to embed; add images with `{build_command('items', ws.root)}`"
        )
    extractor = FeatureExtractor(cfg.backbone, runtime=cfg.runtime)
    _ = extractor.model  # fail early (e.g. missing B3 weights), before any work
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    caches = [FeatureCache(ws.cache_dir, c.cache_key()) for c in cfgs]
    ids = items["item_id"].tolist()
    cached = [_Known(ws, c, cache, ids) for c, cache in zip(cfgs, caches)]
    stale = [any(i not in have for i in ids) for have in cached]
    todo = [i for i in ids if any(i not in c for c in cached)]
    total = len(ids)
    report(progress, len(ids) - len(todo), total)
    if todo:
        if cfg.ray is None:
            batches = _local_batches(ws, cfg, specs, todo, extractor)
        else:  # the hook for a Ray cluster: the same batches, computed by its actors
            from core.embed_ray import ray_batches

            batches = ray_batches(ws, cfg, specs, todo)
        done = len(ids) - len(todo)
        for out in batches:
            for cache, have, f in zip(caches, cached, out.feats):
                need = np.array([i not in have for i in out.ids])  # a sibling may be cached already
                if need.any():
                    cache.append(CachedFeatures(out.ids[need], f[need], _rows(out.topk_idx, need),
                                                _rows(out.topk_prob, need)))
            done += len(out.ids)
            report(progress, done, total)
        for cache, have in zip(caches, cached):
            have.add(cache.load(set(todo)))
    for one, cache, have, was_stale in zip(cfgs, caches, cached, stale):
        if was_stale or not _up_to_date(ws, one):
            _write_features(ws, one, ids, have)
        cache.clear()  # the committed artifact holds these features now
    return EmbedReport(cfg.backbone, computed=len(todo), cached=total - len(todo), total=total,
                       siblings=[one.backbone for one in cfgs[1:]])


def _local_batches(ws: Workspace, cfg: EmbedConfig, specs: list[BackboneSpec], todo: list[str],
                   extractor: FeatureExtractor) -> Iterator[EmbeddedBatch]:
    """The batches of ``todo`` computed in this process (DataLoader workers decoding)."""
    import torch

    dataset = _ViewsDataset([ws.image_path(i) for i in todo], todo, cfg)
    loader: Any = torch.utils.data.DataLoader(
        dataset,  # type: ignore[arg-type]
        batch_size=cfg.batch_size, num_workers=cfg.workers, shuffle=False,
        persistent_workers=False, prefetch_factor=4 if cfg.workers else None,
    )
    start = 0
    for batch in loader:
        yield embed_batch(extractor, todo[start:start + len(batch)], batch, specs, cfg.forward_batch)
        start += len(batch)


def _forward(extractor: FeatureExtractor, x: Any, grids: tuple[int, ...], chunk: int) -> tuple[list[Any], Any]:
    """``extractor.extract_grids`` over ``x`` (B, ...) in chunks of at most ``chunk`` images, so
    a batch of images with their views never needs the activations of all of them at once."""
    import torch

    parts = [extractor.extract_grids(x[s:s + chunk], grids) for s in range(0, len(x), max(1, chunk))]
    feats = [torch.cat([p[0][g] for p in parts]) for g in range(len(grids))]
    probs = [p[1] for p in parts if p[1] is not None]
    return feats, (torch.cat(probs) if probs else None)


def _rows(a: np.ndarray | None, mask: np.ndarray) -> np.ndarray | None:
    return None if a is None else a[mask]


def _artifact_config(cfg: EmbedConfig) -> dict[str, Any]:
    """The features record's config: the settings, the runtime the pass resolved to on this
    machine (``runtime_used``), the preprocessing version and the backbone's spec."""
    from core.runtime import resolve

    return {**asdict(cfg), "runtime_used": resolve(cfg.runtime), "preprocess_version": PREPROCESS_VERSION,
            "spec": asdict(get_spec(cfg.backbone))}


def _same_settings(rec: dict[str, Any] | None, cfg: EmbedConfig) -> bool:
    """Whether the ``features/<backbone>`` record ``rec`` was computed with ``cfg``'s backbone,
    views and preprocessing."""
    if rec is None:
        return False
    produced = json.loads(json.dumps(_artifact_config(cfg)))  # tuples as lists, as in the manifest
    keys = ("backbone", "n_views", "view_seed", "preprocess_version")
    return all(rec["config"].get(k) == produced[k] for k in keys)


def _up_to_date(ws: Workspace, cfg: EmbedConfig) -> bool:
    """Whether ``features/<backbone>`` already holds these items with this configuration."""
    rec = ws.record(f"features/{cfg.backbone}")
    return rec is not None and rec["parents"].get("items") == ws.version("items") and _same_settings(rec, cfg)


class _Known:
    """The features already computed for one configuration: rows from cache shards (in memory)
    and, when it was made with the same settings, rows of the current artifact (memory-mapped,
    read one at a time as the new artifact is written)."""

    def __init__(self, ws: Workspace, cfg: EmbedConfig, cache: FeatureCache, ids: list[str]) -> None:
        wanted = set(ids)
        self.previous: FeatureSet | None = None
        self.index: dict[str, int] = {}
        if _same_settings(ws.record(f"features/{cfg.backbone}"), cfg):
            self.previous = load_features(ws, cfg.backbone)
            self.index = {i: k for k, i in enumerate(self.previous.ids.astype(str).tolist()) if i in wanted}
        self.rows = cache.load(wanted)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.rows or item_id in self.index

    def add(self, rows: dict[str, Any]) -> None:
        self.rows.update(rows)

    def row(self, item_id: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(feats (1 + V, D) with the original first, topk_idx (5,) | None, topk_prob (5,) | None)."""
        if item_id in self.rows:
            return self.rows[item_id]
        fs, k = self.previous, self.index[item_id]
        assert fs is not None
        feats = fs.features[k][None] if fs.views is None else np.concatenate([fs.features[k][None], fs.views[k]])
        return (feats, None if fs.topk_idx is None else fs.topk_idx[k],
                None if fs.topk_prob is None else fs.topk_prob[k])


def _write_features(ws: Workspace, cfg: EmbedConfig, ids: list[str], known: _Known) -> None:
    """Write ``features/<backbone>`` in catalog order, row by row into memory-mapped files (a
    catalog's features and views are never all in memory at once)."""
    missing = [i for i in ids if i not in known]
    if missing:  # pragma: no cover - only if the cache folder is removed under our feet
        raise MissingArtifactError(f"features of {len(missing)} items vanished from the cache; re-run embed")
    n, dim = len(ids), get_spec(cfg.backbone).dim
    has_topk = known.row(ids[0])[1] is not None
    with ws.write_artifact(f"features/{cfg.backbone}", config=_artifact_config(cfg),
                           parents={"items": ws.version("items") or 0}) as tmp:
        np.save(tmp / "ids.npy", np.asarray(ids, dtype="U16"))
        feats = np.lib.format.open_memmap(tmp / "features.npy", mode="w+", dtype=np.float32, shape=(n, dim))
        views = (np.lib.format.open_memmap(tmp / "views.npy", mode="w+", dtype=np.float32,
                                           shape=(n, cfg.n_views, dim)) if cfg.n_views else None)
        tk_i = np.zeros((n, TOPK), np.int16)
        tk_p = np.zeros((n, TOPK), np.float32)
        for j, item_id in enumerate(ids):
            rows, top_i, top_p = known.row(item_id)
            feats[j] = rows[0]
            if views is not None:
                views[j] = rows[1:]
            if top_i is not None and top_p is not None:
                tk_i[j], tk_p[j] = top_i, top_p
        feats.flush()
        if views is not None:
            views.flush()
        del feats, views
        if has_topk:
            np.save(tmp / "topk_idx.npy", tk_i)
            np.save(tmp / "topk_prob.npy", tk_p)


def load_features(ws: Workspace, backbone: str = DEFAULT_BACKBONE) -> FeatureSet:
    """Open the ``features/<backbone>`` artifact memory-mapped (read-only)."""
    get_spec(backbone)
    name = f"features/{backbone}"
    if not ws.has(name):
        raise MissingArtifactError(
            f"no features for backbone {backbone!r} in {ws.root}; compute them with "
            f"`python -m core embed --workspace {ws.root} --backbone {backbone}`"
        )
    folder = ws.artifact_dir(name)

    def opt(file: str) -> np.ndarray | None:
        path = folder / file
        return np.load(path, mmap_mode="r") if path.exists() else None

    features = np.load(folder / "features.npy", mmap_mode="r")
    return FeatureSet(
        backbone=backbone,
        version=int(ws.version(name) or 0),
        ids=np.load(folder / "ids.npy"),
        features=features,
        views=opt("views.npy"),
        topk_idx=opt("topk_idx.npy"),
        topk_prob=opt("topk_prob.npy"),
    )


def embed_pil(images: list[Image.Image], backbone: str = DEFAULT_BACKBONE, also: tuple[str, ...] = ()) -> EmbedOutput:
    """Embed pictures on the fly (no augmentation, no cache): features (n, D); with ``also``,
    the features of sibling backbones from the same forward pass in ``siblings`` (names in
    ``also`` that are not siblings of ``backbone`` are left out: the caller embeds them itself)."""
    import torch

    spec = get_spec(backbone)
    others = [get_spec(b) for b in dict.fromkeys(also) if b != backbone]
    others = [o for o in others if spec.shares_pass_with(o)]
    if not images:
        return EmbedOutput(np.zeros((0, spec.dim), np.float32), None, None,
                           {o.name: np.zeros((0, o.dim), np.float32) for o in others})
    x = torch.from_numpy(np.stack([preprocess(spec, im) for im in images]))
    feats, probs = FeatureExtractor(backbone).extract_grids(x, tuple(s.grid for s in [spec, *others]))
    tk_i = tk_p = None
    if probs is not None:
        tk_i, tk_p = _topk(probs.numpy())
    siblings = {o.name: f.numpy().astype(np.float32) for o, f in zip(others, feats[1:])}
    return EmbedOutput(feats[0].numpy().astype(np.float32), tk_i, tk_p, siblings)


def default_workers() -> int:
    """Decoding processes: one per core beyond the two the model uses, at most 2."""
    return max(0, min(2, (os.cpu_count() or 1) - 2))
