"""Palettes: a few dominant colours per item, in CIELAB, for search by colour.

k-means on the thumbnail's pixels (in L*a*b*), the background masked: the border's median
colour is the background, and pixels within ``BACKGROUND_DELTA`` of it are left out (unless
that would leave almost nothing, e.g. a piece that fills the frame). The ``palette/default``
artifact holds them for the whole catalog, built by the pipeline step ``palette``
(:mod:`core.pipeline`); a few milliseconds per item.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.errors import InvalidImageError
from core.lab import rgb_to_lab
from core.progress import Progress
from core.workspace import Workspace

__all__ = ["ARTIFACT", "BACKGROUND_DELTA", "N_COLOURS", "Palettes", "image_palette", "load_palettes",
           "palette_workspace"]

ARTIFACT = "palette/default"
N_COLOURS = 4
BACKGROUND_DELTA = 12.0  # Euclidean L*a*b* distance to the border colour below which a pixel is background
PIXELS = 32  # the thumbnail is reduced to PIXELS x PIXELS before clustering
MIN_FOREGROUND = 0.05  # share of pixels the mask must leave, else every pixel counts
_ITERS = 12


def _sq_dist(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(n, 3), (k, 3) -> (n, k) squared Euclidean distances."""
    return np.maximum((x * x).sum(1)[:, None] - 2 * x @ c.T + (c * c).sum(1)[None], 0)


def _kmeans(x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means with k-means++ seeding. x (n, 3) -> centres (k', 3), counts (k',), k' <= k."""
    rng = np.random.default_rng(seed)
    c = x[rng.integers(len(x))][None]
    for _ in range(1, k):
        d2 = _sq_dist(x, c).min(axis=1)
        if d2.sum() <= 1e-9:
            break
        c = np.vstack([c, x[rng.choice(len(x), p=d2 / d2.sum())]])
    for _ in range(_ITERS):
        lab = _sq_dist(x, c).argmin(axis=1)
        counts = np.bincount(lab, minlength=len(c))
        sums = np.stack([np.bincount(lab, weights=x[:, j], minlength=len(c)) for j in range(3)], axis=1)
        new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], c)
        done = np.allclose(new, c, atol=0.05)
        c = new
        if done:
            break
    counts = np.bincount(_sq_dist(x, c).argmin(axis=1), minlength=len(c))
    keep = counts > 0
    return c[keep], counts[keep]


def image_palette(image: Image.Image, n_colours: int = N_COLOURS, mask_background: bool = True,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Dominant colours of a picture, largest share first.

    Returns
    -------
    lab : (n_colours, 3) float32 CIELAB (rows past the colours found are zero)
    weights : (n_colours,) float32 share of the (foreground) pixels, summing to 1 (zeros pad)
    """
    small = np.asarray(image.convert("RGB").resize((PIXELS, PIXELS), Image.Resampling.BILINEAR))
    lab = rgb_to_lab(small).reshape(PIXELS, PIXELS, 3).astype(np.float64)
    pixels = lab.reshape(-1, 3)
    if mask_background:
        border = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
        bg = np.median(border, axis=0)
        fg = np.linalg.norm(pixels - bg, axis=1) > BACKGROUND_DELTA
        if fg.mean() >= MIN_FOREGROUND:
            pixels = pixels[fg]
    centres, counts = _kmeans(pixels, n_colours, seed)
    order = np.argsort(-counts, kind="stable")
    out_lab = np.zeros((n_colours, 3), np.float32)
    out_w = np.zeros(n_colours, np.float32)
    out_lab[: len(order)] = centres[order]
    out_w[: len(order)] = counts[order] / counts.sum()
    return out_lab, out_w


@dataclass(frozen=True)
class Palettes:
    """The ``palette/default`` artifact: ids (N,) str; lab (N, K, 3) float32; weights (N, K) float32."""

    version: int
    ids: np.ndarray
    lab: np.ndarray
    weights: np.ndarray


def palette_workspace(ws: Workspace, progress: Progress = None) -> dict[str, int]:
    """Compute every item's palette from its thumbnail and write ``palette/default``."""
    items = ws.items()
    ids = items["item_id"].astype(str).tolist()
    lab = np.zeros((len(ids), N_COLOURS, 3), np.float32)
    weights = np.zeros((len(ids), N_COLOURS), np.float32)
    missing = 0
    for n, item_id in enumerate(ids):
        try:
            with Image.open(ws.thumb_path(item_id)) as im:
                lab[n], weights[n] = image_palette(im)
        except (OSError, InvalidImageError):
            missing += 1  # no thumbnail: the item has an empty palette and never matches a colour
        if progress is not None and (n % 50 == 0 or n == len(ids) - 1):
            progress(n + 1, len(ids))
    config = {"n_colours": N_COLOURS, "background_delta": BACKGROUND_DELTA, "pixels": PIXELS}
    with ws.write_artifact(ARTIFACT, config=config, parents={"items": ws.version("items") or 0}) as tmp:
        np.save(tmp / "ids.npy", np.asarray(ids, dtype="U16"))
        np.save(tmp / "lab.npy", lab)
        np.save(tmp / "weights.npy", weights)
    return {"n_items": len(ids), "missing_thumbnails": missing}


@functools.lru_cache(maxsize=4)
def _load(root: str, version: int) -> Palettes:
    folder = Workspace(root, create=False).artifact_dir(ARTIFACT)
    return Palettes(version, np.load(folder / "ids.npy"), np.load(folder / "lab.npy"), np.load(folder / "weights.npy"))


def load_palettes(ws: Workspace) -> Palettes:
    """The palettes of the catalog (cached per artifact version); MissingArtifactError naming
    the command when absent."""
    ws.artifact_dir(ARTIFACT)
    return _load(str(Path(ws.root).resolve()), int(ws.version(ARTIFACT) or 0))
