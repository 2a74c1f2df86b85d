"""Growing a collection: new items land in the existing clusters, index and map, without retraining."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from core import grow, pipeline
from core.cluster.result import load_clustering
from core.projection import load_projection
from core.similarity.artifact import load_similarity
from core.workspace import Workspace
from tests.conftest import DEMO, demo_rows


def test_knn_placement_puts_a_copy_of_an_item_on_it() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 8)).astype(np.float32)
    Y = rng.normal(size=(50, 2)).astype(np.float32)
    placed = grow.knn_place(X, Y, X[[7]] * 3.0, n_neighbors=1)  # scale does not matter (cosine)
    np.testing.assert_allclose(placed[0], Y[7], atol=1e-5)
    between = grow.knn_place(X, Y, X[[3, 9]], n_neighbors=15)
    assert between.shape == (2, 2) and np.isfinite(between).all()
    lo, hi = Y.min(0), Y.max(0)
    assert ((between >= lo) & (between <= hi)).all()  # a weighted mean of mapped points


def _new_photos(ws: Workspace, path: Path, n: int) -> Path:
    """A catalog CSV of ``n`` labelled demo photos the workspace does not hold yet."""
    have = set(ws.items()["source"].astype(str)) if "source" in ws.items() else set()
    rows = [{**r, "path": str(DEMO / r["path"])} for r in demo_rows() if r["label"]]
    rows = [r for r in rows if r["path"] not in have][::7][:n]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.backbone
@pytest.mark.umap
def test_grow_assigns_new_items_and_maps_them_without_retraining(small_workspace: Workspace, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(small_workspace.root, root)
    ws = Workspace.open(root)
    before = {name: ws.version(name) for name in ws.names()}
    old_clusters = load_clustering(ws)
    old_map = load_projection(ws)
    heads = (old_clusters.path / "heads.pt").read_bytes()  # type: ignore[operator]

    report = pipeline.ingest(ws, _new_photos(ws, tmp_path / "new.csv", 8))
    assert len(report.added) == 8
    embed = pipeline.run_steps(ws, pipeline.embed_steps())
    assert embed["embed"]["computed"] == 8  # only the new photos went through the network
    assert grow.can_grow(ws)
    summary = grow.grow_workspace(ws)
    assert summary["clusters"]["added"] == 8 and summary["similarity"]["added"] == 8
    assert summary["projection/default"]["added"] == 8

    new_ids = set(ws.items()["item_id"]) - set(old_clusters.ids)
    assert len(new_ids) == 8
    grown = load_clustering(ws)
    assert set(grown.ids) == set(old_clusters.ids) | new_ids and len(grown.ids) == len(set(grown.ids))
    np.testing.assert_array_equal(grown.centroids, old_clusters.centroids)  # not retrained
    assert (grown.path / "heads.pt").read_bytes() == heads  # type: ignore[operator]
    assert sum(c["size"] for c in grown.clusters) == len(grown.ids)
    assert grown.summary["grown"]["added"] == 8
    old_rows = np.isin(grown.ids, old_clusters.ids)
    np.testing.assert_array_equal(grown.labels[old_rows], old_clusters.labels)  # old items stay put

    new_map = load_projection(ws)
    assert set(new_map["item_id"]) == set(old_map["item_id"]) | new_ids
    kept = new_map.set_index("item_id").loc[old_map["item_id"]]
    np.testing.assert_array_equal(kept["x"].to_numpy(), old_map["x"].to_numpy())  # the map did not move
    placed = new_map[new_map["item_id"].isin(new_ids)]
    assert np.isfinite(placed[["x", "y"]].to_numpy()).all()

    sim = load_similarity(ws)
    assert new_ids <= set(sim.ids.tolist()) and len(sim.index) == len(sim.ids)
    one = sorted(new_ids)[0]
    hits = sim.search(sim.vector_of(one), k=3)
    assert one in [h.item_id for h in hits]  # the index takes the new item in
    sim.index.unload()

    after = {name: ws.version(name) for name in ws.names()}
    for name in ("clusters/default", "similarity/default", "projection/default", "items"):
        assert after[name] > before[name]  # versions bump: pages' caches refresh
    assert grow.grow_workspace(ws)["clusters"]["added"] == 0  # nothing new: nothing written
