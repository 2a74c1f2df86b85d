"""Forward-pass runtimes: validated, resolved per machine, recorded, and close to fp32."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from core.embed.artifact import load_features
from core.embed.extractor import FeatureExtractor
from core.embed.preprocess import preprocess
from core.embed.runtime import CHOICES, RUNTIMES, auto_runtime, cpu_flags, resolve, runtime_of
from core.embed.spec import get_spec
from core.embed.step import EmbedConfig, embed_workspace, prefetched
from core.errors import InvalidInputError
from core.images import ingest
from core.workspace import Workspace
from tests.conftest import DEMO, demo_rows, make_image, write_subset_csv


def test_unknown_runtime_is_refused_with_the_choices() -> None:
    with pytest.raises(InvalidInputError, match="unknown runtime 'fp8'.*auto, fp32, channels_last, bf16, onnx"):
        resolve("fp8")
    with pytest.raises(InvalidInputError, match="unknown runtime 'fp16'"):
        EmbedConfig(runtime="fp16")  # type: ignore[arg-type]


def test_auto_resolves_to_a_concrete_runtime() -> None:
    assert resolve("auto") in set(CHOICES) - {"auto"} and resolve("auto") in RUNTIMES
    assert resolve("fp32") == "fp32" and resolve("bf16") == "bf16"
    assert runtime_of("auto").name == auto_runtime()


def test_auto_picks_onnx_where_installed_else_bf16_only_with_bf16_units(tmp_path) -> None:
    assert auto_runtime({"avx2"}, onnx=True) == "onnx"
    assert auto_runtime({"avx512f", "amx_bf16", "amx_tile"}, onnx=False) == "bf16"
    assert auto_runtime({"avx512f", "avx512_bf16"}, onnx=False) == "bf16"
    assert auto_runtime({"avx2", "avx512f"}, onnx=False) == "channels_last"
    assert auto_runtime(set(), onnx=False) == "channels_last"
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f amx_bf16\n\nprocessor\t: 1\n")
    assert cpu_flags(info) == {"fpu", "sse", "avx512f", "amx_bf16"}
    assert cpu_flags(tmp_path / "absent") == set()


def test_a_backbone_without_network_records_fp32_whatever_was_asked(tmp_path) -> None:
    for i in range(2):
        make_image(tmp_path / "src" / f"{i}.png", colour=(90 * i, 30, 200))
    ws = Workspace(tmp_path / "ws")
    ingest(ws, tmp_path / "src")
    rep = embed_workspace(ws, EmbedConfig(backbone="colour-histogram", n_views=0, workers=0, runtime="bf16"))
    config = ws.record("features/colour-histogram")["config"]
    assert rep.runtime == config["runtime_used"] == "fp32" and config["runtime"] == "bf16"


def test_prefetched_keeps_order_and_raises_the_producers_error() -> None:
    assert list(prefetched(iter(range(7)), depth=2)) == list(range(7))

    def broken():
        yield 1
        raise OSError("disk gone")

    out = prefetched(broken())
    assert next(out) == 1
    with pytest.raises(OSError, match="disk gone"):
        next(out)


@pytest.mark.backbone
def test_features_record_the_runtime_used(small_workspace: Workspace) -> None:
    config = small_workspace.record("features/efficientnet-lite0")["config"]
    assert config["runtime"] == "auto" and config["runtime_used"] == resolve("auto")


@pytest.mark.backbone
def test_another_runtime_recomputes_instead_of_mixing_features(tmp_path) -> None:
    csv = write_subset_csv(tmp_path / "cat.csv", per_class=1, unlabelled=0, classes={"Pants", "Shirt", "Hat"})
    ws = Workspace(tmp_path / "ws")
    ingest(ws, csv)
    rep = embed_workspace(ws, EmbedConfig(n_views=0, workers=0), also=("efficientnet-lite0-2x2",))
    for name in ("efficientnet-lite0", "efficientnet-lite0-2x2"):
        assert ws.record(f"features/{name}")["config"]["runtime_used"] == rep.runtime == resolve("auto")
    other = "fp32" if rep.runtime != "fp32" else "channels_last"
    again = embed_workspace(ws, EmbedConfig(n_views=0, workers=0, runtime=other))
    assert (again.computed, again.runtime) == (3, other)
    assert ws.record("features/efficientnet-lite0")["config"]["runtime_used"] == other
    assert len(load_features(ws).ids) == 3


@pytest.mark.backbone
@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_every_runtime_gives_the_features_of_fp32(runtime: str, one_torch_thread) -> None:
    spec = get_spec("efficientnet-lite0")
    images = [Image.open(DEMO / r["path"]).convert("RGB") for r in demo_rows()[:12]]
    x = torch.from_numpy(np.stack([preprocess(spec, im) for im in images]))
    (ref, ref_grid), _ = FeatureExtractor(spec, runtime="fp32").extract_grids(x, (1, 2))
    (pooled, grid), probs = FeatureExtractor(spec, runtime=runtime).extract_grids(x, (1, 2))
    assert pooled.dtype == grid.dtype == torch.float32 and probs is not None and probs.shape == (12, 1000)
    for a, b, mean in ((pooled, ref, 0.999), (grid, ref_grid, 0.998)):  # grid cells average fewer positions
        cos = torch.nn.functional.cosine_similarity(a, b, dim=1)
        assert cos.mean() >= mean and cos.min() >= 0.99, (runtime, cos)
