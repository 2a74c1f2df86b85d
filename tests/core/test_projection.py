"""Tests for core.projection: real UMAP on small blobs, the artifact round trip, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_score

from core.errors import InvalidInputError, MissingArtifactError
from core.projection import (
    ProjectionConfig,
    load_projection,
    numba_cache_dir,
    project,
    project_workspace,
    write_projection,
)
from core.workspace import Workspace

FAST = ProjectionConfig(n_neighbors=10, n_epochs=60)


def _blobs(n: int = 150, d: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n_samples=n, n_features=d, centers=3, cluster_std=0.6, random_state=seed)
    return X.astype(np.float32), y


def _write_features(ws: Workspace, X: np.ndarray, backbone: str = "efficientnet-lite0") -> list[str]:
    """A features artifact in the layout core.embed writes (ids.npy + features.npy)."""
    ids = [f"{i:016x}" for i in range(len(X))]
    with ws.write_artifact(f"features/{backbone}", config={"backbone": backbone}) as tmp:
        np.save(tmp / "ids.npy", np.asarray(ids, dtype="U16"))
        np.save(tmp / "features.npy", X)
    return ids


@pytest.mark.umap
def test_project_keeps_blobs_apart() -> None:
    X, y = _blobs()
    Y = project(X, FAST)
    assert Y.shape == (150, 2) and Y.dtype == np.float32
    assert np.isfinite(Y).all()
    assert silhouette_score(Y, y) > 0.5


@pytest.mark.umap
def test_project_fits_a_sample_and_places_the_rest_in_blocks(tmp_path: Path) -> None:
    X, y = _blobs(n=400)
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", np.float32, X.shape)
    mm[:] = X
    mm.flush()
    cfg = ProjectionConfig(n_neighbors=10, n_epochs=60, fit_sample=150, block=64)
    Y = project(np.load(tmp_path / "x.npy", mmap_mode="r"), cfg)
    assert Y.shape == (400, 2) and Y.dtype == np.float32 and np.isfinite(Y).all()
    assert silhouette_score(Y, y) > 0.5  # the transformed rows land with their blob
    assert np.array_equal(Y, project(X, cfg))  # same seed, same sample, same map


@pytest.mark.umap
def test_project_workspace_round_trip(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    X, _ = _blobs(n=60)
    ids = _write_features(ws, X)
    calls: list[tuple[int, int]] = []
    name = project_workspace(ws, run_id="default", config=FAST, progress=lambda d, t: calls.append((d, t)))
    assert name == "projection/default"
    frame = load_projection(ws, "default")
    assert list(frame.columns) == ["item_id", "x", "y"]
    assert frame["item_id"].tolist() == ids
    rec = ws.record(name)
    assert rec is not None
    assert rec["config"]["source"] == "features/efficientnet-lite0"
    assert rec["parents"] == {"features/efficientnet-lite0": ws.version("features/efficientnet-lite0")}
    assert calls[0] == (0, 3) and calls[-1] == (3, 3)


@pytest.mark.umap
def test_project_similarity_embeddings(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    X, _ = _blobs(n=40, d=16)
    ids = np.asarray([f"{i:016x}" for i in range(40)])
    with ws.write_artifact("similarity/tuned", config={}) as tmp:
        np.save(tmp / "ids.npy", ids)
        np.save(tmp / "embeddings.npy", X)
    project_workspace(ws, source="similarity/tuned", run_id="tuned", config=FAST)
    assert load_projection(ws, "tuned")["item_id"].tolist() == ids.tolist()


@pytest.mark.umap
def test_numba_cache_is_filled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the setting is read before umap is imported; in this process umap may be imported
    # already, so check the folder resolution and that it exists after a run
    cache = numba_cache_dir()
    project(_blobs(n=30)[0], FAST)
    assert cache.is_dir()


def test_write_projection_needs_columns(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(InvalidInputError, match="missing"):
        write_projection(ws, pd.DataFrame({"item_id": ["a"], "x": [0.0]}), "bench", {})
    write_projection(ws, pd.DataFrame({"item_id": ["a"], "x": [0.0], "y": [1.0]}), "bench", {"synthetic": True})
    assert load_projection(ws, "bench")["y"].tolist() == [1.0]


def test_missing_features_names_the_command(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(MissingArtifactError, match="python -m core embed"):
        project_workspace(ws)


def test_missing_projection_names_the_command(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(MissingArtifactError, match="python -m core project"):
        load_projection(ws)


@pytest.mark.parametrize(
    "X, message",
    [
        (np.zeros((2, 4), np.float32), "at least 3"),
        (np.full((10, 4), np.nan, np.float32), "NaN"),
        (np.zeros(10, np.float32), "2-D"),
    ],
)
def test_bad_matrices(X: np.ndarray, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        project(X, FAST)


@pytest.mark.parametrize(
    "cfg", [ProjectionConfig(n_neighbors=1), ProjectionConfig(min_dist=2.0), ProjectionConfig(n_epochs=0),
            ProjectionConfig(fit_sample=2), ProjectionConfig(block=0)]
)
def test_bad_config(cfg: ProjectionConfig) -> None:
    with pytest.raises(InvalidInputError):
        project(np.zeros((10, 4), np.float32), cfg)


def test_bad_source(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(InvalidInputError, match="cannot project"):
        project_workspace(ws, source="clusters/default")
    with pytest.raises(InvalidInputError, match="must look like"):
        project_workspace(ws, source="features")
