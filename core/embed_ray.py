"""Embedding on a Ray cluster: the forward passes of :func:`core.embed.step.embed_workspace` run
in a pool of Ray Data actors, each loading the backbone once.

The driver (the process that called ``embed_workspace``) builds a Ray Data dataset of the items
still missing from the feature cache, ``map_batches`` sends its batches to the actors, and the
batches that come back are written by the driver into the same cache shards, and then the same
``features/<backbone>`` artifact, as the local path; so a restarted job skips what the cache
holds, and the rows follow the catalog order whatever order the batches finish in.

How images reach the workers: by default the driver reads each normalised image's bytes into the
dataset (``RayConfig.send_bytes``), so workers need no access to the workspace folder, in
chunks of ``chunk_items`` items so that the driver and the object store hold only one chunk
(about 20 kB an item for the demo's photos). With ``send_bytes=False`` rows carry the image's
path instead, for a cluster whose nodes all see the workspace folder at the same path (shared
storage such as NFS): nothing travels through the driver then.

Every actor runs the numeric runtime the driver resolved (``EmbedConfig.runtime``; ``auto``
picks it from the driver's CPU), the one the features' record names as ``runtime_used``.

The ``core`` package travels to the workers with the job (Ray's ``py_modules``); its
dependencies (``requirements.txt``) must be installed on every node. ``ray`` itself is imported
only when one of these functions runs.
"""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import numpy as np
from PIL import Image

from core.embed.extractor import FeatureExtractor
from core.embed.runtime import RuntimeName, resolve
from core.embed.spec import BackboneSpec, get_spec
from core.embed.step import EmbedConfig, EmbeddedBatch, compute_batch, item_views
from core.errors import ComputeClusterError
from core.ray_config import RayConfig
from core.workspace import Workspace

INSTALL_HINT = "pip install -r requirements-ray.txt"
PROBE_TIMEOUT_S = 5.0


def connect(address: str | None) -> tuple[ModuleType, bool]:
    """Import Ray and connect to ``address`` (see :class:`RayConfig`) unless this process is
    connected already; returns (the ``ray`` module, whether this call started the connection).

    A caller that connects itself (``ray.init``) makes ``core`` importable on the workers (a
    local instance started from the repository does; else ``runtime_env={"py_modules": ...}``).
    Raises :class:`ComputeClusterError` naming the problem when Ray is missing or nothing
    answers at the address (probed first: Ray itself waits minutes for an absent head node).
    """
    try:
        import ray
    except ImportError as exc:
        raise ComputeClusterError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from exc
    if ray.is_initialized():
        return ray, False
    if address not in (None, "", "auto"):
        _probe(address)
    # the workers import this very ``core`` package, uploaded with the job
    options: dict[str, Any] = {"logging_level": "warning", "log_to_driver": False,
                               "runtime_env": {"py_modules": [str(Path(__file__).resolve().parent)]}}
    if address in (None, ""):
        options["include_dashboard"] = False
    try:
        ray.init(address=address or None, **options)
    except (ConnectionError, ValueError, RuntimeError, TimeoutError) as exc:
        raise ComputeClusterError(f"cannot connect to the Ray cluster at {address!r}: {exc}") from exc
    return ray, True


def _probe(address: str) -> None:
    """Fail fast, with a clear message, when nothing listens at ``[ray://]host:port``."""
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ComputeClusterError(
            f"bad Ray address {address!r}: expected 'auto', 'host:port' (the head node's GCS port, 6379 by default) "
            "or 'ray://host:port' (Ray Client, 10001 by default)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ComputeClusterError(f"no Ray cluster answers at {address!r}: {exc}") from exc


def ray_batches(ws: Workspace, cfg: EmbedConfig, specs: list[BackboneSpec], todo: list[str]) -> Iterator[EmbeddedBatch]:
    """The batches of ``todo`` (item ids), computed by Ray actors: what
    :func:`core.embed.step.embed_workspace` stores when ``cfg.ray`` is set. Connects at once
    (a bad address fails before any work); batches arrive in the order they finish."""
    rc = cfg.ray or RayConfig()
    _, started = connect(rc.address)
    # the runtime the driver resolved is the one its features record names, so every actor uses it
    actor_cfg = replace(cfg, runtime=cast(RuntimeName, resolve(cfg.runtime)))
    return _run(started, ws, actor_cfg, rc, [s.name for s in specs], todo)


def _run(started: bool, ws: Workspace, cfg: EmbedConfig, rc: RayConfig, names: list[str],
         todo: list[str]) -> Iterator[EmbeddedBatch]:
    import ray.data

    if started:  # our own connection (the CLI's): Ray Data's per-dataset INFO lines would bury the progress bar
        logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        cpus = int(ray.cluster_resources().get("CPU", 1))
        workers = rc.workers or max(1, cpus // rc.cpus_per_worker)
        chunk = rc.chunk_items if rc.send_bytes else len(todo)
        for start in range(0, len(todo), chunk):
            part = todo[start:start + chunk]
            blocks = -(-len(part) // cfg.batch_size)  # one block per batch: a cache shard as each one lands
            ds = ray.data.from_items([_row(ws, i, rc.send_bytes) for i in part], override_num_blocks=blocks)
            out = ds.map_batches(
                _Embedder, fn_constructor_args=(cfg, names, rc.cpus_per_worker), batch_size=cfg.batch_size,
                batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=min(workers, blocks)),
                num_cpus=rc.cpus_per_worker,
            )
            for cols in out.iter_batches(batch_size=None, batch_format="numpy"):
                yield _batch(cols, len(names))
    finally:
        if started:
            ray.shutdown()


def _row(ws: Workspace, item_id: str, send_bytes: bool) -> dict[str, Any]:
    path = ws.image_path(item_id)
    if send_bytes:
        return {"item_id": item_id, "image": path.read_bytes()}
    return {"item_id": item_id, "path": str(path.resolve())}


def _batch(cols: dict[str, np.ndarray], n_specs: int) -> EmbeddedBatch:
    """An actor's output columns (see :meth:`_Embedder.__call__`) as an :class:`EmbeddedBatch`."""
    return EmbeddedBatch(
        np.asarray(cols["item_id"]).astype(str),
        [np.asarray(cols[f"feats{k}"], dtype=np.float32) for k in range(n_specs)],
        cols.get("topk_idx"), cols.get("topk_prob"),
    )


class _Embedder:
    """A Ray Data actor: loads the backbone once, then turns batches of rows (``item_id`` and
    ``image`` bytes or ``path``) into columns ``item_id`` (b,), ``feats<k>`` (b, 1 + V, D_k) per
    backbone of the pass, and ``topk_idx``/``topk_prob`` (b, 5) when the backbone has classes."""

    def __init__(self, cfg: EmbedConfig, names: list[str], threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.cfg = cfg
        self.specs = [get_spec(n) for n in names]
        self.extractor = FeatureExtractor(cfg.backbone, runtime=cfg.runtime)
        _ = self.extractor.model

    def __call__(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        ids = [str(i) for i in rows["item_id"]]
        sources = rows["image"] if "image" in rows else rows["path"]
        views = []
        for item_id, src in zip(ids, sources):
            with Image.open(io.BytesIO(src) if isinstance(src, bytes) else src) as im:
                views.append(item_views(im.convert("RGB"), item_id, self.cfg, self.specs[0]))
        out = compute_batch(self.extractor, ids, torch.from_numpy(np.stack(views)), self.specs, self.cfg.forward_batch)
        cols = {"item_id": out.ids, **{f"feats{k}": f for k, f in enumerate(out.feats)}}
        if out.topk_idx is not None and out.topk_prob is not None:
            cols.update(topk_idx=out.topk_idx, topk_prob=out.topk_prob)
        return cols
