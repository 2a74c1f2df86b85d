"""The clustering commands, driven through argparse as the CLI does."""

import argparse
import json

import pytest
from PIL import Image

from core.cli import cluster as cli_cluster
from core.errors import InvalidInputError, MissingArtifactError
from core.fashion_mnist import DEFAULT_DIR as FMNIST_DIR
from tests.core.cluster.test_step import blob_workspace

FAST = ["--k-init", "3", "--k-max", "4", "--epochs", "2", "--lr", "1e-3", "--init-umap", "0", "--quiet"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    cli_cluster.register(sub)
    args = parser.parse_args(argv)
    return args.handler(args)


def test_cluster_json_prints_final_record_and_cluster_list(tmp_path, capsys):
    ws, _, _ = blob_workspace(tmp_path / "ws")
    assert run(["cluster", "--workspace", str(ws.root), "--id", "c1", *FAST, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["run_id"] == "c1" and out["k"] >= 3
    assert {"epoch", "k_after", "stability", "mean_confidence"} <= set(out["final"])
    assert sum(c["size"] for c in out["clusters"]) == 240
    assert set(out["clusters"][0]) == {"cluster", "name", "size"}
    tree = out["tree"]  # the hierarchy: k - 1 merges, a name for every merged node
    assert tree["k"] == out["k"] and len(tree["merges"]) == out["k"] - 1 == len(tree["nodes"])
    assert all(n["name"] for n in tree["nodes"]) and tree["nodes"][-1]["size"] == 240
    assert out["k_selection"]["method"] == "split" and out["k_selection"]["k"] == out["k"]


def test_evaluate_k_auto_reports_the_chosen_k(tmp_path, capsys):
    ws, _, _ = blob_workspace(tmp_path / "ws")
    fast = ["--epochs", "3", "--init-umap", "0", "--quiet", "--k-init", "2", "--k-max", "6"]
    assert run(["evaluate", "--workspace", str(ws.root), "--k", "auto", *fast, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_classes"] == 3 and out["k_selection"]["k_init"] == 2 and out["k_selection"]["k_max"] == 6
    assert out["k"] == out["k_selection"]["k"] and "nmi" in out


@pytest.mark.parametrize("bad", ["1", "many", "-3"])
def test_evaluate_bad_k(tmp_path, bad, capsys):
    with pytest.raises(SystemExit):
        run(["evaluate", "--workspace", str(tmp_path), "--k", bad])
    assert "--k must" in capsys.readouterr().err


def test_cluster_bad_k_selection_options(tmp_path, capsys):
    ws, _, _ = blob_workspace(tmp_path / "ws")
    with pytest.raises(SystemExit):
        run(["cluster", "--workspace", str(ws.root), "--k-select", "bic"])
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(InvalidInputError, match="split_alpha must be in"):
        run(["cluster", "--workspace", str(ws.root), *FAST, "--split-alpha", "0.7"])


def test_clusterings_lists_saved_runs(tmp_path, capsys):
    ws, _, _ = blob_workspace(tmp_path / "ws")
    run(["cluster", "--workspace", str(ws.root), "--id", "one", *FAST, "--json"])
    run(["cluster", "--workspace", str(ws.root), "--id", "two", *FAST, "--json"])
    capsys.readouterr()
    assert run(["clusterings", "--workspace", str(ws.root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in out["clusterings"]] == ["one", "two"]


def test_evaluate_a_labelled_workspace(tmp_path, capsys):
    ws, _, _ = blob_workspace(tmp_path / "ws")
    assert run(["evaluate", "--workspace", str(ws.root), "--epochs", "2", "--pca-dim", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["k"] == 3  # k = number of classes
    assert out["nmi"] > 0.9 and out["acc"] > 0.9
    assert set(out["f1"]) == {"Pants", "Dress", "Shoes"}
    assert "nmi" in out["baseline"]


def test_evaluate_needs_a_source(tmp_path):
    with pytest.raises(InvalidInputError, match="either a dataset"):
        run(["evaluate"])


def test_assign_needs_a_clustering_and_an_image(tmp_path):
    ws, _, _ = blob_workspace(tmp_path / "ws")
    with pytest.raises(MissingArtifactError, match="python -m core cluster"):
        run(["assign", "--workspace", str(ws.root), "--image", str(tmp_path / "x.jpg")])
    run(["cluster", "--workspace", str(ws.root), *FAST])
    with pytest.raises(InvalidInputError, match="does not exist"):
        run(["assign", "--workspace", str(ws.root), "--image", str(tmp_path / "x.jpg")])


@pytest.mark.backbone
def test_assign_json_on_the_real_demo_subset(small_workspace, tmp_path, capsys):
    import shutil

    from core.workspace import Workspace

    ws = Workspace(shutil.copytree(small_workspace.root, tmp_path / "ws"))
    run(["cluster", "--workspace", str(ws.root), "--k-init", "6", "--k-max", "8", "--epochs", "2", "--quiet"])
    capsys.readouterr()
    item = ws.items()["item_id"].iloc[0]
    img = tmp_path / "new.png"
    with Image.open(ws.image_path(item)) as im:
        im.convert("RGB").save(img)
    assert run(["assign", "--workspace", str(ws.root), "--image", str(img), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"run_id", "cluster", "name", "confidence", "similarity", "outlier"}
    assert out["outlier"] or isinstance(out["cluster"], int)


@pytest.mark.backbone
@pytest.mark.skipif(not (FMNIST_DIR / "t10k-images-idx3-ubyte.gz").exists(), reason="dataset-fashion-mnist not installed")
def test_evaluate_fashion_mnist_end_to_end_on_a_slice(capsys):
    """The reproducible benchmark path on the first 400 test images: ingest, lite0 + 2×2-grid
    embedding in one pass, balanced DeepCluster; far above chance, with both baselines."""
    assert run(["evaluate", "fashion-mnist", "--limit", "400", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_items"] == 400 and out["k"] == 10
    assert out["acc"] > 0.55 and out["nmi"] > 0.5  # chance is 0.1 / 0.0
    assert out["baseline"]["features"] == "efficientnet-lite0-2x2"
    assert out["baseline"]["pooled"]["features"] == "efficientnet-lite0"
    assert set(out["f1"]) == {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                              "Sneaker", "Bag", "Ankle boot"}
