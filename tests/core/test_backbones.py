import numpy as np
import pytest
import torch
from PIL import Image

from core.embed.extractor import FeatureExtractor
from core.embed.onthefly import embed_pil
from core.embed.preprocess import fit_square, preprocess
from core.embed.spec import REGISTRY, get_spec
from core.errors import MissingWeightsError, UnknownBackboneError
from tests.conftest import DEMO, demo_rows

JEAN = 608  # ImageNet class index of "jean, blue jean, denim"


def test_unknown_backbone_lists_the_known_ones():
    with pytest.raises(UnknownBackboneError) as exc:
        get_spec("resnet-9000")
    for name in REGISTRY:
        assert name in str(exc.value)


def test_b3_without_weights_says_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("STYLE_ATLAS_B3_WEIGHTS", str(tmp_path / "missing.pth"))
    with pytest.raises(MissingWeightsError, match=r"STYLE_ATLAS_B3_WEIGHTS.*efficientnet-b3-5fb5a3c3\.pth"):
        _ = FeatureExtractor("efficientnet-b3").model


def test_b3_with_a_bad_weights_file_is_a_clear_error(tmp_path, monkeypatch):
    bad = tmp_path / "efficientnet-b3-5fb5a3c3.pth"
    bad.write_bytes(b"not a checkpoint")
    monkeypatch.setenv("STYLE_ATLAS_B3_WEIGHTS", str(bad))
    with pytest.raises(MissingWeightsError, match="cannot load efficientnet-b3 weights"):
        _ = FeatureExtractor("efficientnet-b3").model


def test_fit_square_keeps_the_whole_image():
    tall = Image.new("RGB", (50, 200), (255, 0, 0))
    out = fit_square(tall, 100)
    assert out.size == (100, 100)
    assert out.getpixel((50, 2)) == (255, 0, 0)  # top of the garment still there


def test_preprocess_shapes_and_normalisation():
    image = Image.new("RGB", (80, 60), (255, 255, 255))
    x = preprocess(get_spec("efficientnet-lite0"), image)
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    assert np.allclose(x, 1.0)  # (1 - 0.5) / 0.5
    hist = preprocess(get_spec("colour-histogram"), image)
    assert hist.shape == (512,) and hist.sum() == pytest.approx(1.0) and hist[-1] == pytest.approx(1.0)


@pytest.mark.backbone
def test_lite0_real_weights_recognise_jeans_in_demo_photos():
    """The pretrained classifier sees denim in photos labelled Pants: real weights, not random."""
    paths = [DEMO / r["path"] for r in demo_rows() if r["label"] == "Pants"][:12]
    out = embed_pil([Image.open(p).convert("RGB") for p in paths])
    assert out.features.shape == (12, 1280) and np.isfinite(out.features).all()
    hits = sum(JEAN in row for row in out.topk_idx)
    assert hits >= 4, out.topk_idx


@pytest.mark.backbone
def test_lite0_model_is_frozen_and_in_eval_mode():
    model = FeatureExtractor("efficientnet-lite0").model
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    x = torch.from_numpy(np.stack([preprocess(get_spec("efficientnet-lite0"), Image.new("RGB", (30, 30), (9, 99, 199)))] * 2))
    a, _ = FeatureExtractor("efficientnet-lite0").extract(x)
    b, _ = FeatureExtractor("efficientnet-lite0").extract(x)
    assert torch.equal(a, b)  # no dropout or batch-norm updates at inference


def test_each_efficientnet_has_its_grid_sibling():
    from core.embed.spec import siblings

    assert siblings("efficientnet-lite0") == ("efficientnet-lite0-2x2",)
    assert siblings("efficientnet-lite2") == ("efficientnet-lite2-2x2",)
    assert siblings("colour-histogram") == ()
    assert get_spec("efficientnet-lite2-2x2").model_name == "efficientnet-lite2"


@pytest.mark.backbone
@pytest.mark.parametrize("network", ["efficientnet-lite0", "efficientnet-lite2"])
def test_grid_features_are_the_quadrants_of_the_same_feature_map(network: str):
    """A 2×2-grid sibling shares its network's forward pass: (B, 1280·4), channel-major, and
    averaging its four cells gives back (nearly) the globally pooled features."""
    image = Image.new("RGB", (120, 200), (240, 240, 240))
    image.paste((20, 40, 160), (30, 20, 90, 120))  # a dark garment in the top half
    x = torch.from_numpy(np.stack([preprocess(get_spec(network), image)]))
    (pooled, grid), probs = FeatureExtractor(network).extract_grids(x, (1, 2))
    alone, _ = FeatureExtractor(f"{network}-2x2").extract(x)
    assert get_spec(f"{network}-2x2").dim == grid.shape[1] == 5120
    assert torch.allclose(grid, alone, atol=1e-5) and probs.shape == (1, 1000)
    cells = grid.reshape(1, 1280, 2, 2)
    corr = np.corrcoef(cells.mean((2, 3))[0].numpy(), pooled[0].numpy())[0, 1]
    assert corr > 0.98
    top, bottom = cells[0, :, 0, :].mean(-1), cells[0, :, 1, :].mean(-1)
    assert not torch.allclose(top, bottom, atol=1e-2)  # the layout is kept
