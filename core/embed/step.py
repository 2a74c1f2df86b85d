"""The embed step: batched feature extraction with a frozen backbone, cached per item.

A DataLoader (in worker processes, or in the main process with a decode thread) decodes and
preprocesses images while the model runs. Each image gives the features of the original and of
``n_views`` augmented views (see :mod:`core.augment`); :func:`compute_batch` runs one batch
through the network. Results go to the :class:`~core.embed.cache.FeatureCache` as batches
finish; the ``features/<backbone>`` artifact is then assembled in catalog order, streamed to
disk from the shards and from the previous artifact (for items it already held), and the shards
are cleared once it is committed.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from core.augment import augmented_view, view_rng
from core.embed.artifact import Known, artifact_config, up_to_date, write_features
from core.embed.cache import CachedFeatures, CacheKey, FeatureCache
from core.embed.extractor import FeatureExtractor, topk
from core.embed.preprocess import PREPROCESS_VERSION, preprocess
from core.embed.runtime import RuntimeName, resolve
from core.embed.spec import DEFAULT_BACKBONE, BackboneSpec, get_spec
from core.errors import InvalidInputError, MissingArtifactError
from core.progress import Progress, report
from core.ray_config import RayConfig
from core.workspace import Workspace, build_command

T = TypeVar("T")


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
    # the forward pass's runtime (core.embed.runtime): auto (this CPU's pick), fp32, channels_last, bf16
    runtime: RuntimeName = "auto"
    # with workers=0, decode the next batches in a thread while the model runs (1.44x the images/s
    # without it on 2 cores with the onnx runtime: bench_embedding.py --decode-ab)
    decode_thread: bool = True
    ray: RayConfig | None = None  # run the forward passes on a Ray cluster (core.embed_ray) instead of here

    def __post_init__(self) -> None:
        resolve(self.runtime)  # an unknown name is a clear error here, not in the middle of a run

    def cache_key(self, runtime_used: str | None = None) -> CacheKey:
        """The cache folder's key for features computed by ``runtime_used`` (default: what
        ``runtime`` resolves to here)."""
        return CacheKey(self.backbone, PREPROCESS_VERSION, self.n_views, self.view_seed,
                        runtime_used or resolve(self.runtime))


@dataclass
class EmbedReport:
    backbone: str
    computed: int  # images run through the network now (for the backbone or a sibling)
    cached: int  # images whose features all came from the cache
    total: int
    siblings: list[str] = field(default_factory=list)  # backbones written from the same pass
    runtime: str = ""  # the runtime the forward pass ran with


@dataclass(frozen=True)
class EmbeddedBatch:
    """The features of a batch of b items: ``ids`` (b,); ``feats``, one (b, 1 + V, D_s) float32
    array per spec s of the pass (view 0 is the original image); ``topk_idx`` (b, 5) int16 and
    ``topk_prob`` (b, 5) float32 of the originals, or None for a backbone without classes."""

    ids: np.ndarray
    feats: list[np.ndarray]
    topk_idx: np.ndarray | None
    topk_prob: np.ndarray | None


class ViewsDataset:
    """Item i → (1 + V, 3, S, S) float32 tensor of its original and augmented views (or
    (1 + V, D) for a spec whose features come straight from the picture)."""

    def __init__(self, paths: list[Path], ids: list[str], cfg: EmbedConfig, spec: BackboneSpec) -> None:
        self.paths, self.ids, self.cfg, self.spec = paths, ids, cfg, spec

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


def compute_batch(extractor: FeatureExtractor, ids: Any, batch: Any, specs: Sequence[BackboneSpec],
                  forward_batch: int) -> EmbeddedBatch:
    """Features of one batch ``batch`` (b, 1 + V, ...) of items ``ids`` with their views, for
    ``specs`` (the extractor's and its siblings', sharing one forward pass), in forward passes of
    at most ``forward_batch`` images, so a batch never needs the activations of all its views at
    once. No I/O: the local loop and Ray's actors (core.embed_ray) both call it."""
    import torch

    b, v = batch.shape[:2]
    flat = batch.reshape(b * v, *batch.shape[2:])
    grids = tuple(s.grid for s in specs)
    step = max(1, forward_batch)
    parts = [extractor.extract_grids(flat[s:s + step], grids) for s in range(0, len(flat), step)]
    feats = [torch.cat([p[0][g] for p in parts]).numpy().reshape(b, v, s.dim).astype(np.float32, copy=False)
             for g, s in enumerate(specs)]
    probs = [p[1] for p in parts if p[1] is not None]
    if not probs:
        return EmbeddedBatch(np.asarray(ids), feats, None, None)
    tk_i, tk_p = topk(torch.cat(probs).numpy().reshape(b, v, -1)[:, 0])
    return EmbeddedBatch(np.asarray(ids), feats, tk_i, tk_p)


def embed_workspace(
    ws: Workspace, config: EmbedConfig | None = None, progress: Progress = None, also: tuple[str, ...] = ()
) -> EmbedReport:
    """Compute the features of every catalog item that the cache lacks, then write the
    ``features/<backbone>`` artifact.

    ``also`` names sibling backbones of the same network and input size (e.g.
    ``efficientnet-lite0-2x2`` beside ``efficientnet-lite0``): their features come from the same
    forward pass and get their own artifacts. The report is the main backbone's. The runtime
    actually used (``auto`` resolved) is recorded in each artifact's config.
    """
    import torch

    cfg = config or EmbedConfig()
    spec = get_spec(cfg.backbone)
    if spec.is_combined:
        raise InvalidInputError(f"{spec.name} combines other backbones' features; embed it with "
                                "core.pipeline.embed, which embeds its parts first")
    specs = [spec] + [get_spec(b) for b in dict.fromkeys(also) if b != cfg.backbone]
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
    if cfg.threads:
        torch.set_num_threads(cfg.threads)  # before the model loads: an ONNX Runtime session takes it then
    extractor = FeatureExtractor(spec, runtime=cfg.runtime)
    _ = extractor.model  # fail early (e.g. missing B3 weights), before any work
    used = extractor.runtime.name
    cfgs = [replace(cfg, backbone=s.name) for s in specs]
    caches = [FeatureCache(ws.cache_dir, c.cache_key(used)) for c in cfgs]
    ids = items["item_id"].tolist()
    known = [Known(ws, c, used, cache, ids) for c, cache in zip(cfgs, caches)]
    stale = [any(i not in have for i in ids) for have in known]
    todo = [i for i in ids if any(i not in have for have in known)]
    report(progress, len(ids) - len(todo), len(ids))
    if todo:
        _compute(ws, cfg, extractor, specs, todo, caches, known, progress, done=len(ids) - len(todo))
    for one, s, cache, have, was_stale in zip(cfgs, specs, caches, known, stale):
        if was_stale or not up_to_date(ws, one, used):
            write_features(ws, one, artifact_config(one, s, used), s.dim, ids, have)
        cache.clear()  # the committed artifact holds these features now
    return EmbedReport(cfg.backbone, computed=len(todo), cached=len(ids) - len(todo), total=len(ids),
                       siblings=[s.name for s in specs[1:]], runtime=used)


def _compute(ws: Workspace, cfg: EmbedConfig, extractor: FeatureExtractor, specs: list[BackboneSpec],
             todo: list[str], caches: list[FeatureCache], known: list[Known], progress: Progress, done: int) -> None:
    """Run ``todo`` through :func:`compute_batch` (here, or on Ray's actors when ``cfg.ray`` is
    set) and append each batch to the caches (rows a sibling's cache already holds are skipped),
    then add the new rows to ``known``."""
    if cfg.ray is None:
        batches = _local_batches(ws, cfg, extractor, specs, todo)
    else:  # the same batches, computed by a Ray cluster's actors
        from core.embed_ray import ray_batches

        batches = ray_batches(ws, cfg, specs, todo)
    total = done + len(todo)
    for out in batches:
        for cache, have, feats in zip(caches, known, out.feats):
            need = np.array([i not in have for i in out.ids])  # a sibling may be cached already
            if need.any():
                cache.append(CachedFeatures(out.ids[need], feats[need], _rows(out.topk_idx, need),
                                            _rows(out.topk_prob, need)))
        done += len(out.ids)
        report(progress, done, total)
    for cache, have in zip(caches, known):
        have.add(cache.load(set(todo)))


def _local_batches(ws: Workspace, cfg: EmbedConfig, extractor: FeatureExtractor, specs: list[BackboneSpec],
                   todo: list[str]) -> Iterator[EmbeddedBatch]:
    """The batches of ``todo`` computed in this process (decoded by DataLoader workers, or by
    the decode thread)."""
    import torch

    dataset = ViewsDataset([ws.image_path(i) for i in todo], todo, cfg, extractor.spec)
    loader: Iterable[Any] = torch.utils.data.DataLoader(
        dataset,  # type: ignore[arg-type]
        batch_size=cfg.batch_size, num_workers=cfg.workers, shuffle=False,
        persistent_workers=False, prefetch_factor=4 if cfg.workers else None,
    )
    if cfg.decode_thread and not cfg.workers:
        loader = prefetched(loader)
    start = 0
    for batch in loader:
        yield compute_batch(extractor, todo[start:start + len(batch)], batch, specs, cfg.forward_batch)
        start += len(batch)


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """``items`` produced by a background thread up to ``depth`` ahead (decoding the next
    batch while the caller runs the model; an error in the thread is raised here)."""
    q: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put((True, item))
            q.put((False, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put((False, exc))

    thread = threading.Thread(target=produce, daemon=True, name="embed-decode")
    thread.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        while not q.empty():  # unblock a producer waiting to put, so it sees ``stop`` and ends
            q.get_nowait()


def _rows(a: np.ndarray | None, mask: np.ndarray) -> np.ndarray | None:
    return None if a is None else a[mask]


def default_workers() -> int:
    """Decoding processes: one per core beyond the two the model uses, at most 2."""
    return max(0, min(2, (os.cpu_count() or 1) - 2))
