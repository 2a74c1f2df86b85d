"""Embedding pictures on the fly (a query image, an uploaded photo): no augmentation, no cache."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from core.embed.extractor import FeatureExtractor, topk
from core.embed.preprocess import preprocess
from core.embed.runtime import AUTO
from core.embed.spec import DEFAULT_BACKBONE, BackboneSpec, get_spec


@dataclass(frozen=True)
class EmbedOutput:
    """Features of images embedded on the fly: features (n, D); topk_* (n, 5) or None;
    siblings: backbone name → (n, D') features of sibling backbones from the same pass."""

    features: np.ndarray
    topk_idx: np.ndarray | None
    topk_prob: np.ndarray | None
    siblings: dict[str, np.ndarray] = field(default_factory=dict)


def embed_pil(images: list[Image.Image], backbone: str = DEFAULT_BACKBONE, also: tuple[str, ...] = (),
              runtime: str = AUTO) -> EmbedOutput:
    """Embed pictures on the fly: features (n, D); with ``also``, the features of sibling
    backbones from the same forward pass in ``siblings`` (names in ``also`` that are not
    siblings of ``backbone`` are left out: the caller embeds them itself)."""
    import torch

    spec = get_spec(backbone)
    if spec.is_combined:
        return _embed_combined(images, spec, runtime)
    others = [get_spec(b) for b in dict.fromkeys(also) if b != backbone]
    others = [o for o in others if spec.shares_pass_with(o)]
    if not images:
        return EmbedOutput(np.zeros((0, spec.dim), np.float32), None, None,
                           {o.name: np.zeros((0, o.dim), np.float32) for o in others})
    x = torch.from_numpy(np.stack([preprocess(spec, im) for im in images]))
    feats, probs = FeatureExtractor(spec, runtime=runtime).extract_grids(x, tuple(s.grid for s in [spec, *others]))
    tk_i = tk_p = None
    if probs is not None:
        tk_i, tk_p = topk(probs.numpy())
    siblings = {o.name: f.numpy().astype(np.float32) for o, f in zip(others, feats[1:])}
    return EmbedOutput(feats[0].numpy().astype(np.float32), tk_i, tk_p, siblings)


def _embed_combined(images: list[Image.Image], spec: BackboneSpec, runtime: str) -> EmbedOutput:
    """A combined backbone's features (n, D): each part embedded (one pass per network), then
    normalised per block and put side by side as :mod:`core.embed.combined` does for the catalog."""
    from core.embed.combined import combine, part_specs

    parts = part_specs(spec)
    blocks: dict[str, np.ndarray] = {}
    first: EmbedOutput | None = None
    for part, _ in parts:
        if part.name in blocks:
            continue
        out = embed_pil(images, part.name, also=tuple(p.name for p, _ in parts), runtime=runtime)
        blocks.update({part.name: out.features, **out.siblings})
        if first is None and out.topk_idx is not None:
            first = out
    feats = combine([blocks[p.name] for p, _ in parts], [p for p, _ in parts], [w for _, w in parts])
    return EmbedOutput(feats, None if first is None else first.topk_idx, None if first is None else first.topk_prob)
