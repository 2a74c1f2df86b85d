"""The ``features/<backbone>`` artifact: what it records, what it holds, how it is written and opened.

Row i of every array is item ``ids[i]``, in catalog order. The manifest record's config holds
the embed settings (``runtime``: what was asked, e.g. ``auto``), ``runtime_used`` (the runtime
the forward pass ran with), the preprocessing version and the backbone's spec.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.embed.cache import FeatureCache
from core.embed.extractor import TOPK
from core.embed.preprocess import PREPROCESS_VERSION
from core.embed.spec import DEFAULT_BACKBONE, BackboneSpec, get_spec
from core.errors import MissingArtifactError
from core.workspace import Workspace

if TYPE_CHECKING:
    from core.embed.step import EmbedConfig

# What a features record must share with a config for its rows to be reused (and runtime_used);
# a record written before runtimes were recorded ran channels_last fp32.
SETTINGS = ("backbone", "n_views", "view_seed", "preprocess_version")
RUNTIME_BEFORE_RECORDS = "channels_last"


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


def artifact_name(backbone: str) -> str:
    return f"features/{backbone}"


def artifact_config(cfg: EmbedConfig, spec: BackboneSpec, runtime_used: str) -> dict[str, Any]:
    """The record of features computed with ``cfg`` and ``spec`` by runtime ``runtime_used``."""
    return {**asdict(cfg), "runtime_used": runtime_used, "preprocess_version": PREPROCESS_VERSION,
            "spec": spec.record()}


def same_settings(rec: dict[str, Any] | None, cfg: EmbedConfig, runtime_used: str) -> bool:
    """Whether the ``features/<backbone>`` record ``rec`` was computed with ``cfg``'s backbone,
    views and preprocessing, by runtime ``runtime_used`` (features of two are never mixed)."""
    if rec is None:
        return False
    produced = json.loads(json.dumps({**asdict(cfg), "preprocess_version": PREPROCESS_VERSION}))
    return (all(rec["config"].get(k) == produced[k] for k in SETTINGS)
            and rec["config"].get("runtime_used", RUNTIME_BEFORE_RECORDS) == runtime_used)


def up_to_date(ws: Workspace, cfg: EmbedConfig, runtime_used: str) -> bool:
    """Whether ``features/<backbone>`` already holds these items with this configuration."""
    rec = ws.record(artifact_name(cfg.backbone))
    return (rec is not None and rec["parents"].get("items") == ws.version("items")
            and same_settings(rec, cfg, runtime_used))


class Known:
    """The features already computed for one configuration: rows from cache shards (in memory)
    and, when it was made with the same settings, rows of the current artifact (memory-mapped,
    read one at a time as the new artifact is written)."""

    def __init__(self, ws: Workspace, cfg: EmbedConfig, runtime_used: str, cache: FeatureCache,
                 ids: list[str]) -> None:
        wanted = set(ids)
        self.previous: FeatureSet | None = None
        self.index: dict[str, int] = {}
        if same_settings(ws.record(artifact_name(cfg.backbone)), cfg, runtime_used):
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


def write_features(ws: Workspace, cfg: EmbedConfig, config: dict[str, Any], dim: int, ids: list[str],
                   known: Known) -> None:
    """Write ``features/<backbone>`` (record ``config``, rows of ``dim``) in catalog order, row
    by row into memory-mapped files (a catalog's features and views are never all in memory)."""
    missing = [i for i in ids if i not in known]
    if missing:  # pragma: no cover - only if the cache folder is removed under our feet
        raise MissingArtifactError(f"features of {len(missing)} items vanished from the cache; re-run embed")
    n = len(ids)
    has_topk = known.row(ids[0])[1] is not None
    with ws.write_artifact(artifact_name(cfg.backbone), config=config,
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
    name = artifact_name(backbone)
    if not ws.has(name):
        raise MissingArtifactError(
            f"no features for backbone {backbone!r} in {ws.root}; compute them with "
            f"`python -m core embed --workspace {ws.root} --backbone {backbone}`"
        )
    folder = ws.artifact_dir(name)

    def opt(file: str) -> np.ndarray | None:
        path = folder / file
        return np.load(path, mmap_mode="r") if path.exists() else None

    return FeatureSet(
        backbone=backbone,
        version=int(ws.version(name) or 0),
        ids=np.load(folder / "ids.npy"),
        features=np.load(folder / "features.npy", mmap_mode="r"),
        views=opt("views.npy"),
        topk_idx=opt("topk_idx.npy"),
        topk_prob=opt("topk_prob.npy"),
    )
