"""UMAP 2-D maps of a feature or embedding artifact, for the Explore page.

``project_workspace`` reads ``features/<backbone>`` (frozen backbone features) or
``similarity/<run>`` (the tuned embedding), runs UMAP with a cosine metric and writes the
artifact ``projection/<run_id>`` holding ``projection.parquet`` (``item_id``, ``x``, ``y``).
It runs in the pipeline or the CLI, never in a page request.

numba compiles UMAP's kernels on first use (tens of seconds); its on-disk cache is enabled by
pointing ``NUMBA_CACHE_DIR`` at a user cache folder before umap is imported, so a restart does
not pay the JIT again.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InvalidInputError, MissingArtifactError
from core.progress import Progress, report
from core.workspace import Workspace, build_command

__all__ = ["ProjectionConfig", "project_workspace", "load_projection", "numba_cache_dir", "project"]

PROJECTION_FILE = "projection.parquet"


@dataclass(frozen=True)
class ProjectionConfig:
    """UMAP settings (see umap-learn's ``UMAP``)."""

    n_neighbors: int = 15
    min_dist: float = 0.1
    metric: str = "cosine"
    random_state: int = 42
    n_epochs: int | None = None
    # above this many items UMAP is fitted on a random sample of them and the rest are placed
    # with ``transform``, a block at a time (the fit's time and memory grow faster than N)
    fit_sample: int = 50_000
    block: int = 10_000  # rows transformed (and checked) at a time

    def validate(self) -> None:
        if self.n_neighbors < 2:
            raise InvalidInputError(f"n_neighbors must be at least 2, got {self.n_neighbors}")
        if not 0.0 <= self.min_dist <= 1.0:
            raise InvalidInputError(f"min_dist must be in [0, 1], got {self.min_dist}")
        if self.n_epochs is not None and self.n_epochs < 1:
            raise InvalidInputError(f"n_epochs must be positive, got {self.n_epochs}")
        if self.fit_sample < 3:
            raise InvalidInputError(f"fit_sample must be at least 3, got {self.fit_sample}")
        if self.block < 1:
            raise InvalidInputError(f"block must be positive, got {self.block}")


def numba_cache_dir() -> Path:
    """The folder numba caches compiled kernels in (``NUMBA_CACHE_DIR`` if set)."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "style-atlas" / "numba"


def _enable_numba_cache() -> None:
    """Point numba's cache at :func:`numba_cache_dir` before umap is imported."""
    path = numba_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    numba = sys.modules.get("numba")
    if numba is not None:  # already imported: numba reads the setting at decoration time
        numba.config.CACHE_DIR = str(path)


def _all_finite(X: np.ndarray, block: int) -> bool:
    """Whether every value of ``X`` (N, D) is finite, checked ``block`` rows at a time."""
    return all(bool(np.isfinite(X[s : s + block]).all()) for s in range(0, X.shape[0], block))


def project(X: np.ndarray, config: ProjectionConfig | None = None) -> np.ndarray:
    """UMAP of ``X`` (N, D) to (N, 2) float32 coordinates.

    ``X`` may be memory-mapped: it is read a block at a time. Above ``config.fit_sample`` items
    UMAP is fitted on a random sample (seeded by ``random_state``) and the other rows are placed
    by ``transform``, ``config.block`` rows at a time. Small inputs are handled:
    ``n_neighbors`` is capped at N - 1; N < 3 is refused.
    """
    cfg = config or ProjectionConfig()
    cfg.validate()
    if not isinstance(X, np.ndarray):
        X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise InvalidInputError(f"expected a 2-D matrix, got shape {X.shape}")
    n = X.shape[0]
    if n < 3:
        raise InvalidInputError(f"a map needs at least 3 items, got {n}")
    if not _all_finite(X, cfg.block):
        raise InvalidInputError("the features hold NaN or infinite values; re-run the embedding step")
    _enable_numba_cache()
    import umap  # heavy: imported here, after the numba cache is set

    sample = None
    if n > cfg.fit_sample:
        sample = np.sort(np.random.default_rng(cfg.random_state).choice(n, cfg.fit_sample, replace=False))
    fit_n = n if sample is None else len(sample)
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=min(cfg.n_neighbors, fit_n - 1),
        min_dist=cfg.min_dist,
        metric=cfg.metric,
        random_state=cfg.random_state,
        n_epochs=cfg.n_epochs,
        init="spectral" if fit_n > 10 else "random",
        low_memory=True,
        n_jobs=1,  # random_state forces one thread anyway; saying so avoids a warning
    )
    if sample is None:
        return np.asarray(reducer.fit_transform(np.asarray(X, dtype=np.float32)), dtype=np.float32)
    Y = np.empty((n, 2), dtype=np.float32)
    Y[sample] = reducer.fit_transform(np.asarray(X[sample], dtype=np.float32))
    rest = np.setdiff1d(np.arange(n), sample)
    for s in range(0, len(rest), cfg.block):
        rows = rest[s : s + cfg.block]
        Y[rows] = reducer.transform(np.asarray(X[rows], dtype=np.float32))
    return Y


def _load_source(ws: Workspace, source: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(ids (N,), matrix (N, D), version) of a ``features/*`` or ``similarity/*`` artifact."""
    kind, _, name = source.partition("/")
    if not name:
        raise InvalidInputError(f"source must look like 'features/<backbone>' or 'similarity/<run>', got {source!r}")
    if kind == "features":
        from core.embed.artifact import load_features

        fs = load_features(ws, name)
        return np.asarray(fs.ids), np.asarray(fs.features), int(fs.version)
    if kind == "similarity":
        folder = ws.artifact_dir(source)
        version = ws.version(source) or 0
        for ids_file, emb_file in (("ids.npy", "embeddings.npy"), ("item_ids.npy", "embeddings.npy")):
            if (folder / ids_file).exists() and (folder / emb_file).exists():
                ids = np.load(folder / ids_file, allow_pickle=False)
                return ids.astype(str), np.load(folder / emb_file, mmap_mode="r"), int(version)
        raise MissingArtifactError(
            f"{source} holds no embeddings.npy/ids.npy; rebuild it with `{build_command(source, ws.root)}`"
        )
    raise InvalidInputError(f"cannot project {source!r}: use features/<backbone> or similarity/<run>")


def project_workspace(
    ws: Workspace,
    source: str = "features/efficientnet-lite0",
    run_id: str = "default",
    progress: Progress = None,
    config: ProjectionConfig | None = None,
) -> str:
    """Compute the 2-D map of ``source`` and write artifact ``projection/<run_id>``.

    Returns the artifact name. Rows follow the source's item order.
    """
    cfg = config or ProjectionConfig()
    cfg.validate()
    report(progress, 0, 3)
    ids, X, version = _load_source(ws, source)
    report(progress, 1, 3)
    Y = project(X, cfg)
    report(progress, 2, 3)
    name = f"projection/{run_id}"
    frame = pd.DataFrame({"item_id": ids.astype(str), "x": Y[:, 0], "y": Y[:, 1]})
    conf: dict[str, Any] = {"source": source, **asdict(cfg)}
    with ws.write_artifact(name, conf, parents={source: version}) as tmp:
        frame.to_parquet(tmp / PROJECTION_FILE, index=False)
    report(progress, 3, 3)
    return name


def load_projection(ws: Workspace, run_id: str = "default") -> pd.DataFrame:
    """The ``projection/<run_id>`` frame: item_id (str), x, y (float32)."""
    folder = ws.artifact_dir(f"projection/{run_id}")
    return pd.read_parquet(folder / PROJECTION_FILE)


def write_projection(ws: Workspace, frame: pd.DataFrame, run_id: str, config: dict[str, Any],
                     parents: dict[str, int] | None = None) -> str:
    """Write an already computed map (``item_id``, ``x``, ``y``) as ``projection/<run_id>``.

    Used by benchmarks with synthetic coordinates; the pipeline uses :func:`project_workspace`.
    """
    missing = {"item_id", "x", "y"} - set(frame.columns)
    if missing:
        raise InvalidInputError(f"a projection needs columns item_id, x, y; missing {sorted(missing)}")
    name = f"projection/{run_id}"
    with ws.write_artifact(name, config, parents=parents) as tmp:
        frame[["item_id", "x", "y"]].to_parquet(tmp / PROJECTION_FILE, index=False)
    return name
