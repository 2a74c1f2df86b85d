"""An append-only cache of computed features, keyed by (item id, backbone, preprocessing).

Features are written in small shards (``.npz``, each through a temporary file and
``os.replace``) as batches finish, so work done before an interruption — even ``kill -9`` — is
kept. Once the ``features/<backbone>`` artifact holding them is committed the shards are
cleared (:meth:`FeatureCache.clear`): the artifact itself is then where a re-run or a few added
images find what is already computed, so a workspace does not store its features twice.
"""

from __future__ import annotations

import os
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TMP_PREFIX = ".tmp-"  # shards being written; never read


@dataclass(frozen=True)
class CacheKey:
    """Everything a cached feature depends on besides the item's content."""

    backbone: str
    preprocess_version: int
    n_views: int
    view_seed: int
    runtime: str = "channels_last"  # the forward pass's runtime (core.embed.runtime): features of two are not mixed

    def folder(self, root: Path) -> Path:
        return root / self.backbone / f"p{self.preprocess_version}-v{self.n_views}-s{self.view_seed}-{self.runtime}"


@dataclass
class CachedFeatures:
    """Rows of the cache: ``ids`` (n,), ``feats`` (n, 1 + V, D) float32 (view 0 is the
    original image), ``topk_idx`` (n, 5) int16 and ``topk_prob`` (n, 5) float32 or None."""

    ids: np.ndarray
    feats: np.ndarray
    topk_idx: np.ndarray | None
    topk_prob: np.ndarray | None


class FeatureCache:
    """The shards of one :class:`CacheKey` in a workspace's cache folder."""

    def __init__(self, root: Path, key: CacheKey) -> None:
        self.folder = key.folder(root)

    def load(self, wanted: set[str] | None = None) -> dict[str, tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]:
        """Map item id → (feats (1 + V, D), topk_idx (5,) | None, topk_prob (5,) | None)."""
        out: dict[str, tuple[np.ndarray, np.ndarray | None, np.ndarray | None]] = {}
        if not self.folder.is_dir():
            return out
        for shard in sorted(self.folder.glob("*.npz")):
            if shard.name.startswith(TMP_PREFIX):
                continue  # a temporary file a killed process left half-written
            try:
                with np.load(shard, allow_pickle=False) as data:
                    ids = data["ids"]
                    feats = data["feats"]
                    tk_i = data["topk_idx"] if "topk_idx" in data else None
                    tk_p = data["topk_prob"] if "topk_prob" in data else None
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                continue  # a damaged shard is recomputed, never trusted
            for j, item_id in enumerate(ids.tolist()):
                if wanted is None or item_id in wanted:
                    out[item_id] = (
                        feats[j],
                        None if tk_i is None else tk_i[j],
                        None if tk_p is None else tk_p[j],
                    )
        return out

    def append(self, rows: CachedFeatures) -> Path:
        """Write one shard atomically and return its path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"ids": rows.ids.astype(str), "feats": rows.feats.astype(np.float32)}
        if rows.topk_idx is not None and rows.topk_prob is not None:
            arrays["topk_idx"] = rows.topk_idx.astype(np.int16)
            arrays["topk_prob"] = rows.topk_prob.astype(np.float32)
        final = self.folder / f"{uuid.uuid4().hex}.npz"
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".npz", dir=self.folder)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        return final

    def clear(self) -> int:
        """Remove every shard (after the artifact that holds them is committed); returns how many."""
        if not self.folder.is_dir():
            return 0
        shards = list(self.folder.glob("*.npz"))
        for shard in shards:
            shard.unlink(missing_ok=True)
        return len(shards)
