"""Search by colour: the pieces whose palette is closest to a colour or a swatch, in ΔE00.

A query is one or more CIELAB colours with weights (a picked colour: one; a dropped swatch
image: its palette, background not masked). An item's distance is the weighted mean, over the
query colours, of the smallest ΔE00 to one of its palette colours holding at least
``MIN_SHARE`` of its pixels. With an image query the two combine: the image search's
candidates are re-ranked by ``cosine - COLOUR_WEIGHT * ΔE / 100``.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.errors import InvalidInputError
from core.lab import delta_e, hex_to_rgb, rgb_to_lab
from core.palette import N_COLOURS, Palettes, image_palette, load_palettes
from core.workspace import Workspace

__all__ = ["COLOUR_WEIGHT", "ColourHit", "ColourQuery", "MAX_K", "MIN_SHARE", "colour_distances", "combine",
           "euclidean_distances",
           "query_from_hex", "query_from_image", "search_colour"]

MIN_SHARE = 0.08
COLOUR_WEIGHT = 1.0
MAX_K = 500
PREFILTER_OVER = 1000  # past this many palettes, a Euclidean L*a*b* pass picks the candidates for ΔE00
CANDIDATES_PER_RESULT = 20


@dataclass(frozen=True)
class ColourQuery:
    """lab (m, 3) float32 CIELAB colours; weights (m,) float32 summing to 1."""

    lab: np.ndarray
    weights: np.ndarray

    def hex(self) -> list[str]:
        """The query colours as ``#rrggbb`` (converted back to sRGB, clipped)."""
        return [_lab_to_hex(c) for c in self.lab]


@dataclass(frozen=True)
class ColourHit:
    """One result: an item and its colour distance (ΔE00; lower is closer)."""

    item_id: str
    delta_e: float


def query_from_hex(value: str) -> ColourQuery:
    """One colour, ``#rrggbb``; InvalidInputError for anything else."""
    return ColourQuery(rgb_to_lab(np.array(hex_to_rgb(value), np.float64))[None], np.ones(1, np.float32))


def query_from_image(image: Image.Image, n_colours: int = N_COLOURS) -> ColourQuery:
    """The palette of a swatch picture (the whole picture counts; no background mask)."""
    lab, w = image_palette(image, n_colours, mask_background=False)
    keep = w > 0
    return ColourQuery(lab[keep], w[keep] / w[keep].sum())


def colour_distances(query: ColourQuery, lab: np.ndarray, weights: np.ndarray,
                     min_share: float = MIN_SHARE) -> np.ndarray:
    """(N,) float32 distance of every palette to the query.

    lab (N, K, 3), weights (N, K): palettes; colours under ``min_share`` are ignored (an item
    with none left is infinitely far).
    """
    de = delta_e(lab[:, None, :, :], query.lab[None, :, None, :])  # (N, m, K)
    de = np.where((weights >= min_share)[:, None, :], de, np.inf)
    return (de.min(axis=2) * query.weights[None]).sum(axis=1).astype(np.float32)


def euclidean_distances(query: ColourQuery, lab: np.ndarray, weights: np.ndarray,
                        min_share: float = MIN_SHARE) -> np.ndarray:
    """As :func:`colour_distances` with the Euclidean L*a*b* distance (CIE76): a cheap first pass."""
    n, k, _ = lab.shape
    flat = np.asarray(lab, np.float32).reshape(-1, 3)
    q = np.asarray(query.lab, np.float32)
    d2 = (flat * flat).sum(1)[:, None] - 2 * flat @ q.T + (q * q).sum(1)[None]  # (N*K, m)
    d2 = np.where((weights >= min_share).reshape(-1)[:, None], d2, np.inf).reshape(n, k, -1)
    return (np.sqrt(np.maximum(d2.min(axis=1), 0)) * query.weights[None]).sum(axis=1).astype(np.float32)


def _top(rows: np.ndarray, dist: np.ndarray, k: int) -> np.ndarray:
    if len(rows) > k:
        rows = rows[np.argpartition(dist[rows], k - 1)[:k]]
    return rows[np.argsort(dist[rows], kind="stable")]


def _rank(pal: Palettes, query: ColourQuery, k: int, allowed: Collection[str] | None,
          skip: Collection[str]) -> list[ColourHit]:
    mask = np.ones(len(pal.ids), bool)
    if allowed is not None:
        mask &= np.isin(pal.ids, list(allowed))
    if skip:
        mask &= ~np.isin(pal.ids, list(skip))
    rows = np.flatnonzero(mask)
    if len(rows) > PREFILTER_OVER:
        rough = np.full(len(pal.ids), np.inf, np.float32)
        rough[rows] = euclidean_distances(query, pal.lab[rows], pal.weights[rows])
        rows = _top(rows[np.isfinite(rough[rows])], rough, CANDIDATES_PER_RESULT * k)
    dist = np.full(len(pal.ids), np.inf, np.float32)
    dist[rows] = colour_distances(query, pal.lab[rows], pal.weights[rows])
    rows = _top(rows[np.isfinite(dist[rows])], dist, k)
    return [ColourHit(str(pal.ids[r]), float(dist[r])) for r in rows]


def search_colour(ws: Workspace, query: ColourQuery, k: int = 24, allowed: Collection[str] | None = None,
                  skip: Collection[str] = ()) -> tuple[list[ColourHit], float]:
    """The ``k`` items closest in colour, closest first, and the time it took (ms).

    allowed : only these ids (the filters' selection), or None for all. skip : left out (hidden).
    """
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInputError(f"k must be an integer in [1, {MAX_K}]; got {k!r}")
    pal = load_palettes(ws)
    t0 = time.perf_counter()
    hits = _rank(pal, query, k, allowed, skip)
    return hits, (time.perf_counter() - t0) * 1000


def combine(similarity: Mapping[str, float], ws: Workspace, query: ColourQuery,
            weight: float = COLOUR_WEIGHT) -> list[tuple[str, float, float]]:
    """Re-rank image-search candidates ``{item_id: cosine}`` by ``cosine - weight * ΔE / 100``.

    Returns ``[(item_id, combined score, ΔE)]``, best first (items without a palette last).
    """
    pal = load_palettes(ws)
    pos = {str(i): n for n, i in enumerate(pal.ids.tolist())}
    rows = [pos.get(i, -1) for i in similarity]
    dist = np.full(len(rows), np.inf, np.float32)
    known = [n for n, r in enumerate(rows) if r >= 0]
    if known:
        idx = np.asarray([rows[n] for n in known])
        dist[known] = colour_distances(query, pal.lab[idx], pal.weights[idx])
    out = [(i, float(s) - weight * float(d) / 100.0, float(d)) for (i, s), d in zip(similarity.items(), dist, strict=True)]
    return sorted(out, key=lambda t: -t[1] if np.isfinite(t[1]) else np.inf)



def _lab_to_hex(lab: np.ndarray) -> str:
    rgb = _lab_to_rgb(np.asarray(lab, np.float64))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _lab_to_rgb(lab: np.ndarray) -> tuple[int, int, int]:
    """CIELAB (D65) back to 8-bit sRGB, clipped."""
    L, a, b = lab
    fy = (L + 16) / 116
    f = np.array([fy + a / 500, fy, fy - b / 200])
    d = 6 / 29
    xyz = np.where(f > d, f**3, 3 * d * d * (f - 4 / 29)) * np.array([0.95047, 1.0, 1.08883])
    m_inv = np.array([[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560],
                      [0.0556434, -0.2040259, 1.0572252]])
    lin = np.clip(m_inv @ xyz, 0, 1)
    c = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    r, g, bb = (np.clip(np.round(c * 255), 0, 255)).astype(int).tolist()
    return r, g, bb
