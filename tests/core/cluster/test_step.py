"""The clustering step on a workspace: artifact round trip, listing, assignment, bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from core.cluster import (
    HISTORY_COLUMNS,
    ClusterConfig,
    assign_image,
    cluster_workspace,
    list_clusterings,
    load_clustering,
)
from core.errors import InvalidInputError, MissingArtifactError
from core.workspace import Workspace

FAST = dict(batch_size=64, lr=1e-3, hidden_dim=32, out_dim=16, n_epochs=3, min_epochs=3, k_init=3, k_max=4,
            init_umap=None)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def blob_workspace(root, n=240, d=24, with_labels=True):
    """A workspace whose items and lite0 / lite0-2x2 features artifacts hold make_blobs data."""
    X, y = make_blobs(n, n_features=d, centers=3, cluster_std=1.0, random_state=0)
    ids = np.array([f"{i:016x}" for i in range(n)])
    ws = Workspace(root)
    names = np.array(["Pants", "Dress", "Shoes"])
    items = pd.DataFrame({"item_id": ids, "source": [f"/x/{i}.jpg" for i in range(n)],
                          "label": names[y] if with_labels else [None] * n})
    items.loc[::10, "label"] = None  # some unlabelled items
    with ws.write_artifact("items", config={}) as tmp:
        items.to_parquet(tmp / "items.parquet", index=False)
    rng = np.random.default_rng(0)
    topk = np.tile(np.array([608, 655, 841, 774, 0], np.int16), (n, 1))
    views = (X[:, None, :] + rng.normal(0, 0.1, (n, 2, d))).astype(np.float32)
    # the clustering backbone (2×2 grid) and the pooled one, as embedding lite0 writes them
    for name, feats in (("efficientnet-lite0-2x2", X), ("efficientnet-lite0", X[:, ::-1] * 2)):
        with ws.write_artifact(f"features/{name}", config={}, parents={"items": 1}) as tmp:
            np.save(tmp / "ids.npy", ids.astype("U16"))
            np.save(tmp / "features.npy", np.ascontiguousarray(feats, dtype=np.float32))
            np.save(tmp / "views.npy", views)
            np.save(tmp / "topk_idx.npy", topk)
            np.save(tmp / "topk_prob.npy", np.tile(np.array([0.5, 0.2, 0.1, 0.1, 0.1], np.float32), (n, 1)))
    return ws, y, ids


def test_cluster_workspace_writes_a_chartable_artifact(tmp_path):
    ws, y, ids = blob_workspace(tmp_path / "ws")
    res = cluster_workspace(ws, ClusterConfig(**FAST), run_id="blobs")
    assert ws.has("clusters/blobs")
    folder = ws.artifact_dir("clusters/blobs")
    for f in ("assignments.parquet", "clusters.json", "history.json", "history.parquet", "summary.json",
              "centroids.npy", "embedding.npy", "heads.pt"):
        assert (folder / f).is_file(), f
    a = pd.read_parquet(folder / "assignments.parquet")
    assert list(a.columns) == ["item_id", "cluster", "confidence", "similarity", "novel", "label"]
    assert a["item_id"].tolist() == ids.tolist()
    hist = pd.read_parquet(folder / "history.parquet")
    assert list(hist.columns) == list(HISTORY_COLUMNS) and len(hist) == len(res.history)
    clusters = json.loads((folder / "clusters.json").read_text())
    assert sum(c["size"] for c in clusters) == 240
    named = [c["name"] for c in clusters if c["size"]]
    assert all(n == "Jeans" for n in named)  # the fashion vocabulary's word, not the catalog label
    assert {c["label"] for c in clusters if c["size"]} == {"Pants", "Dress", "Shoes"}
    assert all(len(c["representative_ids"]) <= 8 for c in clusters)
    summary = res.summary
    assert summary["scores"]["nmi"] > 0.9
    assert summary["baseline"]["k"] == res.k and "nmi" in summary["baseline"]
    # plain k-means on the clustered (grid) features and on the pooled lite0 ones, both scored
    assert summary["baseline"]["features"] == "efficientnet-lite0-2x2"
    assert summary["baseline"]["pooled"]["features"] == "efficientnet-lite0" and "nmi" in summary["baseline"]["pooled"]
    assert summary["scores"]["n_labelled"] == 240 - 24


def test_tree_is_saved_and_every_cut_is_a_partition_of_the_items(tmp_path):
    ws, y, _ = blob_workspace(tmp_path / "ws")
    res = cluster_workspace(ws, ClusterConfig(**{**FAST, "k_init": 4, "k_max": 4}), run_id="t")
    assert (ws.artifact_dir("clusters/t") / "tree.json").is_file()
    tree = res.cluster_tree()
    assert tree.k == res.k and len(res.tree["nodes"]) == res.k - 1
    for n in range(1, res.k + 1):
        groups = res.level(n)
        item_groups = res.level_labels(n)
        assert len(groups) == n and sum(g["size"] for g in groups) == 240
        for g in groups:  # the level's groups are unions of fine clusters, as the items say
            assert set(np.flatnonzero(item_groups == g["group"])) == set(np.flatnonzero(np.isin(res.labels, g["leaves"])))
            assert g["name"]
    assert [g["name"] for g in res.level(res.k)] == [c["name"] for c in res.clusters]
    assert res.level(1)[0]["size"] == 240 and res.level(1)[0]["node"] == 2 * res.k - 2
    with pytest.raises(InvalidInputError, match="number of groups"):
        res.level(res.k + 1)


def test_load_round_trip_and_listing(tmp_path):
    ws, _, _ = blob_workspace(tmp_path / "ws")
    first = cluster_workspace(ws, ClusterConfig(**FAST), run_id="a")
    cluster_workspace(ws, ClusterConfig(**{**FAST, "k_init": 4}), run_id="b")
    back = load_clustering(ws, "a")
    assert np.array_equal(back.labels, first.labels)
    assert np.allclose(back.centroids, first.centroids)
    assert back.history == first.history and back.clusters == first.clusters
    listing = list_clusterings(ws)
    assert [e["run_id"] for e in listing] == ["a", "b"]
    assert listing[1]["k"] >= 4 and listing[0]["n_items"] == 240


def test_unlabelled_catalog_still_clusters(tmp_path):
    ws, _, _ = blob_workspace(tmp_path / "ws", with_labels=False)
    res = cluster_workspace(ws, ClusterConfig(**FAST, baseline=True))
    assert res.summary["scores"] is None
    assert "nmi" not in res.summary["baseline"]
    assert res.clusters[0]["name"] == "Jeans"


def test_resume_after_interruption(tmp_path):
    ws, _, _ = blob_workspace(tmp_path / "ws")
    cfg = ClusterConfig(**{**FAST, "checkpoint_every": 1, "n_epochs": 4, "min_epochs": 4})

    calls = []

    def stop_after_two(done, total):
        calls.append(done)
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cluster_workspace(ws, cfg, run_id="r", progress=stop_after_two)
    assert not ws.has("clusters/r")
    assert list((ws.cache_dir / "clusters").glob("r-*.pt"))
    res = cluster_workspace(ws, cfg, run_id="r")
    assert [h["epoch"] for h in res.history] == [0, 1, 2, 3, 4]
    assert not list((ws.cache_dir / "clusters").glob("r-*.pt"))  # finished: working checkpoint gone


def test_bad_input_features_missing_for_backbone(tmp_path):
    ws, _, _ = blob_workspace(tmp_path / "ws")
    with pytest.raises(MissingArtifactError, match="python -m core embed --workspace .* --backbone efficientnet-lite2"):
        cluster_workspace(ws, ClusterConfig(**FAST, backbone="efficientnet-lite2"))


def test_bad_input_fewer_items_than_k_in_workspace(tmp_path):
    ws, _, _ = blob_workspace(tmp_path / "ws", n=8)
    with pytest.raises(InvalidInputError, match="fewer items"):
        cluster_workspace(ws, ClusterConfig(**{**FAST, "k_init": 10, "k_max": 12}))


def test_missing_clustering_names_the_command(tmp_path):
    ws, _, _ = blob_workspace(tmp_path / "ws")
    with pytest.raises(MissingArtifactError, match="python -m core cluster --workspace .* --id nope"):
        load_clustering(ws, "nope")


@pytest.mark.backbone
def test_assign_image_on_the_real_demo_subset(small_workspace, tmp_path):
    import shutil

    from PIL import Image

    ws = Workspace(shutil.copytree(small_workspace.root, tmp_path / "ws"))
    res = cluster_workspace(ws, ClusterConfig(k_init=6, k_max=8, n_epochs=3, lr=1e-3), run_id="demo")
    item = res.ids[0]
    with Image.open(ws.image_path(item)) as im:
        a = assign_image(ws, im.convert("RGB"), run_id="demo")
    assert a.run_id == "demo"
    if not a.outlier:
        assert a.cluster == int(res.labels[0]) and a.name == res.clusters[a.cluster]["name"]
    assert 0.0 <= a.confidence <= 1.0


def test_large_inputs_switch_pca_on_and_small_ones_keep_every_dimension():
    from core.cluster import AUTO_PCA_DIM, effective_config

    cfg = ClusterConfig()
    small = effective_config(cfg, n_items=1_800, n_views=2, dim=5120)  # the demo: 110 MB
    assert small.pca_dim is None
    big = effective_config(cfg, n_items=50_000, n_views=2, dim=5120)  # 3 GiB of head inputs
    assert big.pca_dim == AUTO_PCA_DIM and big.whiten is False
    chosen = effective_config(ClusterConfig(pca_dim=64), n_items=50_000, n_views=2, dim=5120)
    assert chosen.pca_dim == 64  # an explicit choice is kept


def test_baseline_of_a_large_catalog_is_fitted_on_a_sample_and_assigns_every_item(tmp_path, monkeypatch):
    """Above BASELINE_FIT_ITEMS the k-means baseline is fitted on a sample (memory-mapped
    features are never copied whole) and still labels every item: the blobs are recovered."""
    import core.cluster.baseline as step
    from core.embed.artifact import load_features

    ws, y, _ = blob_workspace(tmp_path / "ws", with_labels=True)
    fs = load_features(ws, "efficientnet-lite0-2x2")
    assert isinstance(fs.features, np.memmap)
    labels = np.array(["Pants", "Dress", "Shoes"], dtype=object)[y]
    monkeypatch.setattr(step, "BASELINE_FIT_ITEMS", 60)
    sampled = step.plain_kmeans(fs.features, 3, labels, seed=0)
    assert sampled["fitted_on"] == 60 and sampled["nmi"] > 0.95
    monkeypatch.setattr(step, "BASELINE_FIT_ITEMS", 10_000)
    whole = step.plain_kmeans(fs.features, 3, labels, seed=0)
    assert "fitted_on" not in whole and whole["nmi"] > 0.95
