"""The forward pass's numeric runtime: validated, resolved per machine, recorded, and close to fp32."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.errors import InvalidInputError
from core.runtime import RUNTIMES, resolve
from core.workspace import Workspace
from tests.conftest import DEMO, demo_rows


def test_unknown_runtime_is_refused_with_the_choices() -> None:
    with pytest.raises(InvalidInputError, match="unknown runtime 'fp8'.*auto, fp32, bf16"):
        resolve("fp8")


def test_auto_resolves_to_a_concrete_runtime() -> None:
    assert resolve("auto") in set(RUNTIMES) - {"auto"}
    assert resolve("fp32") == "fp32" and resolve("bf16") == "bf16"


@pytest.mark.backbone
def test_features_record_the_runtime_used(small_workspace: Workspace) -> None:
    config = small_workspace.record("features/efficientnet-lite0")["config"]
    assert config["runtime"] == "auto" and config["runtime_used"] == resolve("auto")


@pytest.mark.backbone
@pytest.mark.parametrize("backbone", ["efficientnet-lite0", "efficientnet-lite0-2x2"])
def test_bf16_features_match_fp32(backbone: str, one_torch_thread) -> None:
    import torch

    from core.backbones import FeatureExtractor, get_spec, preprocess

    spec = get_spec(backbone)
    images = [Image.open(DEMO / r["path"]).convert("RGB") for r in demo_rows()[:12]]
    x = torch.from_numpy(np.stack([preprocess(spec, im) for im in images]))
    a = FeatureExtractor(backbone, runtime="fp32").extract(x)[0].numpy()
    b = FeatureExtractor(backbone, runtime="bf16").extract(x)[0].numpy()
    assert a.dtype == b.dtype == np.float32
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.mean() >= (0.999 if spec.grid == 1 else 0.998) and cos.min() >= 0.99  # grid cells average fewer positions
