"""Combined features (core.embed.combined): per-block normalisation and the combined artifact."""

import numpy as np
import pandas as pd
import pytest

from core import pipeline
from core.embed.artifact import load_features
from core.embed.combined import combine, normalise_block, write_combined
from core.embed.spec import REGISTRY, get_spec
from core.embed.step import EmbedConfig, embed_workspace
from core.errors import InvalidInputError, MissingArtifactError
from core.workspace import Workspace
from tests.conftest import write_subset_csv

COMBINED = "lite0-lite2-2x2-colour"
PARTS = {"efficientnet-lite0-2x2": 2, "efficientnet-lite2-2x2": 0, "colour-histogram": 0}  # backbone: views


def _workspace(root, n=7, seed=0, parts=PARTS) -> Workspace:
    """A workspace of ``n`` items holding synthetic artifacts of ``parts`` (backbone: n_views)."""
    rng = np.random.default_rng(seed)
    ws = Workspace(root)
    ids = np.array([f"{i:016x}" for i in range(n)])
    with ws.write_artifact("items", config={}) as tmp:
        pd.DataFrame({"item_id": ids, "source": [f"/x/{i}.jpg" for i in range(n)]}).to_parquet(tmp / "items.parquet")
    for name, v in parts.items():
        dim = get_spec(name).dim
        with ws.write_artifact(f"features/{name}", config={"backbone": name}, parents={"items": 1}) as tmp:
            np.save(tmp / "ids.npy", ids.astype("U16"))
            np.save(tmp / "features.npy", rng.random((n, dim), dtype=np.float32))
            if v:
                np.save(tmp / "views.npy", rng.random((n, v, dim), dtype=np.float32))
    return ws


def test_every_block_weighs_its_weight_whatever_its_dimension():
    spec = get_spec(COMBINED)
    rng = np.random.default_rng(1)
    parts = [get_spec(p) for p, _ in spec.parts]
    blocks = [rng.random((5, p.dim)) * s for p, s in zip(parts, (1.0, 40.0, 0.01))]
    x = combine(blocks, parts, [w for _, w in spec.parts])
    assert x.shape == (5, spec.dim) and x.dtype == np.float32
    start = 0
    for p, (_, w) in zip(parts, spec.parts):
        assert np.allclose(np.linalg.norm(x[:, start:start + p.dim], axis=1), np.sqrt(w), atol=1e-5)
        start += p.dim


def test_a_histogram_block_is_its_square_root():
    hist = np.zeros((1, 512), np.float32)
    hist[0, :4] = [0.25, 0.25, 0.25, 0.25]
    out = normalise_block(hist, get_spec("colour-histogram"))
    assert np.allclose(out[0, :4], 0.5) and np.allclose(out[0, 4:], 0)


def test_zero_rows_stay_zero():
    assert np.all(normalise_block(np.zeros((2, 5120)), get_spec("efficientnet-lite0-2x2")) == 0)


def test_bad_blocks_are_clear_errors():
    spec = get_spec("efficientnet-lite0-2x2")
    with pytest.raises(InvalidInputError, match="5120 columns; got 3"):
        combine([np.zeros((2, 3))], [spec], [1.0])
    with pytest.raises(InvalidInputError, match="one spec and one weight"):
        combine([np.zeros((2, 5120))], [spec], [])


def test_the_combined_artifact_loads_like_any_features(tmp_path):
    ws = _workspace(tmp_path / "ws")
    spec = get_spec(COMBINED)
    assert write_combined(ws, spec)
    fs = load_features(ws, COMBINED)
    parts = [load_features(ws, p) for p, _ in spec.parts]
    specs, weights = [get_spec(p) for p, _ in spec.parts], [w for _, w in spec.parts]
    assert fs.features.shape == (7, spec.dim) and list(fs.ids) == list(parts[0].ids)
    assert np.allclose(fs.features, combine([np.asarray(p.features) for p in parts], specs, weights))
    # views: lite0's own; lite2 and the colour histogram, which have none here, give their original
    assert fs.views.shape == (7, 2, spec.dim)
    want = combine([np.asarray(parts[0].views[:, 1]), np.asarray(parts[1].features), np.asarray(parts[2].features)],
                   specs, weights)
    assert np.allclose(fs.views[:, 1], want)


def test_it_is_rewritten_only_when_a_part_changes(tmp_path):
    ws = _workspace(tmp_path / "ws")
    spec = get_spec(COMBINED)
    assert write_combined(ws, spec)
    assert not write_combined(ws, spec)
    before = np.asarray(load_features(ws, COMBINED).features).copy()
    _workspace(tmp_path / "ws", seed=5, parts={"colour-histogram": 0})  # a new version of one part
    assert write_combined(ws, spec)
    assert not np.allclose(load_features(ws, COMBINED).features, before)


def test_a_missing_part_says_how_to_compute_it(tmp_path):
    ws = _workspace(tmp_path / "ws", parts={"efficientnet-lite0-2x2": 0})
    with pytest.raises(MissingArtifactError, match="efficientnet-lite2-2x2.*embed"):
        write_combined(ws, get_spec("lite0-lite2-2x2"))


def test_parts_of_different_items_are_refused(tmp_path):
    ws = _workspace(tmp_path / "ws", n=7, parts={"efficientnet-lite0-2x2": 0})
    other = _workspace(tmp_path / "other", n=6, parts={"efficientnet-lite2-2x2": 0})
    import shutil

    shutil.rmtree(ws.root / "features")
    _workspace(tmp_path / "ws", n=7, parts={"efficientnet-lite0-2x2": 0})
    shutil.copytree(other.root / "features" / "efficientnet-lite2-2x2", ws.root / "features" / "efficientnet-lite2-2x2")
    manifest = ws.manifest()
    manifest["artifacts"]["features/efficientnet-lite2-2x2"] = other.manifest()["artifacts"]["features/efficientnet-lite2-2x2"]
    ws._write_manifest(manifest)
    with pytest.raises(MissingArtifactError, match="different items"):
        write_combined(ws, get_spec("lite0-lite2-2x2"))


def test_combined_backbones_are_embedded_through_their_parts(tmp_path):
    ws = _workspace(tmp_path / "ws")
    with pytest.raises(InvalidInputError, match="combines other backbones.*pipeline.embed"):
        embed_workspace(ws, EmbedConfig(backbone=COMBINED))


def test_registered_combined_specs_add_up():
    for spec in REGISTRY.values():
        if spec.is_combined:
            assert spec.dim == sum(get_spec(p).dim for p, _ in spec.parts)
            assert all(w > 0 for _, w in spec.parts) and not spec.has_network


@pytest.mark.backbone
def test_embed_combined_through_the_pipeline_and_on_the_fly(tmp_path):
    """Real networks: the catalog's combined rows equal what a query image gets on the fly."""
    from PIL import Image

    from core.embed.onthefly import embed_pil

    ws = Workspace(tmp_path / "ws")
    pipeline.ingest(ws, write_subset_csv(tmp_path / "catalog.csv", per_class=1, unlabelled=0, classes={"Hat", "Pants"}))
    ids = ws.items()["item_id"].tolist()[:3]
    rep = pipeline.embed(ws, "lite0-lite2-2x2", config=EmbedConfig(n_views=0))
    fs = load_features(ws, "lite0-lite2-2x2")
    assert rep.total == len(fs.ids) and fs.features.shape[1] == get_spec("lite0-lite2-2x2").dim
    row = list(fs.ids).index(ids[0])
    out = embed_pil([Image.open(ws.image_path(ids[0])).convert("RGB")], "lite0-lite2-2x2")
    assert out.features.shape == (1, 10240) and out.topk_idx is not None
    assert float(out.features[0] @ fs.features[row]) / 2 > 0.999  # both blocks unit norm: |x|^2 = 2
