"""What a backbone is fed: a picture fitted to a padded square and normalised, or its direct features."""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.embed.spec import BackboneSpec

# Bump when preprocessing changes: cached features of another version are not reused.
PREPROCESS_VERSION = 1


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
    x : (3, S, S) float32 normalised pixels for a network, or (D,) float32 features of a spec
        whose features come straight from the picture (``spec.direct``, e.g. the histogram).
    """
    if spec.direct is not None:
        return spec.direct(image)
    arr = np.asarray(fit_square(image, spec.input_size), dtype=np.float32) / 255.0
    norm = (arr - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return np.ascontiguousarray(norm.transpose(2, 0, 1), dtype=np.float32)
