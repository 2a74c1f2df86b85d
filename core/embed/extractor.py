"""A frozen backbone in inference mode: one forward pass, pooled per grid size, with ImageNet top-k."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from core.embed.networks import Loader
from core.embed.runtime import AUTO, Runtime, runtime_of
from core.embed.spec import DEFAULT_BACKBONE, BackboneSpec, get_spec

if TYPE_CHECKING:
    import torch

TOPK = 5


class FeatureExtractor:
    """A backbone's network run by a :class:`~core.embed.runtime.Runtime`, loaded lazily.

    ``extract(x)`` maps a batch (B, 3, S, S) to pooled features (B, D) (for a grid spec the
    feature map averaged per grid cell, flattened channel-major) and ImageNet class
    probabilities (B, 1000) (None for a spec without a network, whose ``x`` is already (B, D)).
    """

    def __init__(self, spec: BackboneSpec | str = DEFAULT_BACKBONE, weights_path: str | None = None,
                 runtime: Runtime | str = AUTO) -> None:
        self.spec = spec if isinstance(spec, BackboneSpec) else get_spec(spec)
        self.weights_path = weights_path
        self.runtime = runtime if isinstance(runtime, Runtime) else runtime_of(runtime)
        if not self.spec.has_network:  # its features are computed in float32 numpy, whatever was asked
            self.runtime = runtime_of("fp32")

    @property
    def model(self) -> torch.nn.Module | None:
        return load_network(self.spec, self.weights_path, self.runtime) if self.spec.has_network else None

    def extract(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        feats, probs = self.extract_grids(x, (self.spec.grid,))
        return feats[0], probs

    def extract_grids(
        self, x: torch.Tensor, grids: tuple[int, ...]
    ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """One forward pass, pooled once per grid size: features (B, C · g²) per ``g`` in
        ``grids`` (so sibling specs of one network share the pass), and class probabilities."""
        import torch
        from torch.nn import functional as F

        model: Any = self.model
        if model is None:
            return [x.float() for _ in grids], None
        fmap = self.runtime.feature_map(model, x)
        with torch.inference_mode():
            pooled = fmap.mean(dim=(2, 3))
            probs = torch.softmax(model._fc(pooled), dim=1)
            feats = [pooled.contiguous() if g == 1 else F.adaptive_avg_pool2d(fmap, g).flatten(1).contiguous()
                     for g in grids]
        return feats, probs


def load_network(spec: BackboneSpec, weights_path: str | None = None, runtime: Runtime | None = None) -> Any:
    """``spec``'s network with its pretrained weights, prepared for ``runtime`` (default
    ``channels_last``); cached per process and shared by the network's grid siblings (read-only)."""
    if spec.loader is None:
        raise ValueError(f"{spec.name} has no network")
    return _load(spec.model_name, spec.input_size, spec.loader, weights_path, runtime or runtime_of("channels_last"))


@functools.lru_cache(maxsize=8)
def _load(network: str, input_size: int, loader: Loader, weights_path: str | None, runtime: Runtime) -> Any:
    return runtime.prepare(loader(network, weights_path), network, input_size)


def topk(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The top-5 classes of ``probs`` (B, 1000): indices (B, 5) int16 and probabilities (B, 5) float32."""
    idx = np.argsort(-probs, axis=1)[:, :TOPK]
    return idx.astype(np.int16), np.take_along_axis(probs, idx, axis=1).astype(np.float32)
