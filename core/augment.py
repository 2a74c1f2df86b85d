"""Deterministic augmented views of an image (flip, colour jitter, small rotation, crop).

The backbone is frozen, so the clustering and similarity heads get their variation from the
features of a few augmented views per image, computed once and cached. View ``v`` of an item is
the same picture on every run: its random draws are seeded by (item id, view, seed).
"""

from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image, ImageEnhance, ImageOps


def view_rng(item_id: str, view: int, seed: int) -> np.random.Generator:
    """A random generator owned by one (item, view, seed)."""
    digest = hashlib.sha256(f"{item_id}:{view}:{seed}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def augmented_view(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """One random view: crop 70–100 % of the area, flip half the time, rotate ±10°, jitter
    brightness, contrast and saturation by ±25 %."""
    img = image.convert("RGB")
    w, h = img.size
    area = rng.uniform(0.7, 1.0)
    aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    cw = int(min(w, round(np.sqrt(area * w * h * aspect))))
    ch = int(min(h, round(np.sqrt(area * w * h / aspect))))
    x0 = int(rng.integers(0, w - cw + 1))
    y0 = int(rng.integers(0, h - ch + 1))
    img = img.crop((x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        img = ImageOps.mirror(img)
    angle = float(rng.uniform(-10, 10))
    border = tuple(int(v) for v in np.median(np.asarray(img)[[0, -1]].reshape(-1, 3), axis=0))
    img = img.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=border)
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        img = enhancer(img).enhance(float(rng.uniform(0.75, 1.25)))
    return img
