"""A tiny real workspace for the component tests: generated photos through real ingestion."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import pipeline
from core.projection import write_projection
from core.workspace import Workspace
from tests.conftest import make_image

COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40), (120, 40, 160), (20, 20, 20)]
LABELS = ["Dress", "Dress", "Shoes", "Shoes", "Hat", ""]


@pytest.fixture()
def tiny_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """Six generated photos ingested with labels, frozen-like features and a synthetic map.

    ``STYLE_ATLAS_WORKSPACE`` points at it for the duration of the test.
    """
    rows = []
    for n, (colour, label) in enumerate(zip(COLOURS, LABELS, strict=True)):
        path = make_image(tmp_path / "photos" / f"p{n}.png", size=(64 + n, 48), colour=colour)
        rows.append({"path": str(path), "label": label})
    catalog_csv = tmp_path / "catalog.csv"
    with open(catalog_csv, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path", "label"])
        writer.writeheader()
        writer.writerows(rows)
    ws = Workspace(tmp_path / "ws")
    pipeline.ingest(ws, catalog_csv)
    ids = ws.items()["item_id"].tolist()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(len(ids), 8)).astype(np.float32)
    X[1] = X[0] + 0.01  # item 1 is the near twin of item 0
    with ws.write_artifact("features/efficientnet-lite0", config={"test": True}) as tmp:
        np.save(tmp / "ids.npy", np.asarray(ids, dtype="U16"))
        np.save(tmp / "features.npy", X)
    coords = pd.DataFrame({"item_id": ids, "x": np.arange(len(ids), dtype=np.float32),
                           "y": np.arange(len(ids), dtype=np.float32) * 2})
    write_projection(ws, coords, "default", {"synthetic": True})
    monkeypatch.setenv("STYLE_ATLAS_WORKSPACE", str(ws.root))
    return ws


@pytest.fixture()
def tiny_sim_ws(tiny_ws: Workspace) -> Workspace:
    """``tiny_ws`` with augmented views and a small real similarity artifact (head + annoy index)."""
    from core.similarity import SimilarityConfig, train_similarity

    name = "features/efficientnet-lite0"
    folder = tiny_ws.artifact_dir(name)
    ids = np.load(folder / "ids.npy")
    X = np.load(folder / "features.npy")
    rng = np.random.default_rng(1)
    views = (X[:, None, :] + 0.05 * rng.normal(size=(len(X), 2, X.shape[1]))).astype(np.float32)
    with tiny_ws.write_artifact(name, config={"test": True}) as tmp:
        np.save(tmp / "ids.npy", ids)
        np.save(tmp / "features.npy", X)
        np.save(tmp / "views.npy", views)
    cfg = SimilarityConfig(epochs=2, out_dim=4, hidden_dim=8, batch_size=4, validation_fraction=0.0,
                           shipped_directions=None, n_trees=2, search_k=20, serve="tuned")
    train_similarity(tiny_ws, cfg)
    return tiny_ws


@pytest.fixture()
def tiny_clustered_ws(tiny_sim_ws: Workspace) -> Workspace:
    """``tiny_sim_ws`` with a small real clustering (k=2) from the clustering step."""
    from core.cluster import ClusterConfig, cluster_workspace

    cfg = ClusterConfig(backbone="efficientnet-lite0", init_umap=None, k_init=2, k_max=3, n_epochs=3, min_epochs=1, batch_size=4, hidden_dim=8, out_dim=4,
                        n_representatives=2, baseline=False, pca_dim=None, whiten=False, novelty_buffer=80)
    cluster_workspace(tiny_sim_ws, cfg)
    return tiny_sim_ws


@pytest.fixture(scope="module")
def hist_sim_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Twelve demo photos with colour-histogram features and a small real similarity artifact:
    image queries (upload, URL) run end to end in a second or two."""
    from core.embed.step import EmbedConfig, embed_workspace
    from core.similarity import SimilarityConfig, train_similarity
    from tests.conftest import write_subset_csv

    tmp = tmp_path_factory.mktemp("hist")
    ws = Workspace(tmp / "ws")
    pipeline.ingest(ws, write_subset_csv(tmp / "catalog.csv", per_class=4, unlabelled=0,
                                         classes={"Dress", "Shoes", "Hat"}))
    embed_workspace(ws, EmbedConfig(backbone="colour-histogram", n_views=2, workers=0))
    train_similarity(ws, SimilarityConfig(backbone="colour-histogram", out_dim=8, hidden_dim=16, epochs=2,
                                          batch_size=8, validation_fraction=0.0, shipped_directions=None,
                                          n_trees=2, search_k=20, serve="tuned"))
    return ws
