"""The Explore map at scale: which part of the map is in view, and what is drawn for it.

A catalog of at most :data:`MAX_POINTS` items is drawn as plain points, as it always was. A
larger one is drawn for the current view only: when the view holds at most ``MAX_POINTS`` items
they are drawn as points; when it holds more, the view is aggregated into a grid of counts (a
heatmap) with one representative item per non-empty cell on top (drawn small, coloured by its
group), so hover and click still answer with an item. A lasso or a box is resolved on the
server from its polygon against every item of the map (:func:`selection_rows`), whatever the
figure drew.

Everything the browser sends (axis ranges, polygons) is checked here before any work: finite
numbers, bounded sizes. Plain numpy, no plotting library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_POINTS = 20_000  # items drawn as points; a view holding more is aggregated
DENSITY_CELLS = 160  # grid cells across the wider side of an aggregated view
WIDEN = (3.0, 2.0, 1.0)  # points are drawn for the view grown by the first factor that keeps them few
MAX_POLYGON_VERTICES = 5_000  # a lasso with more vertices is refused (plotly sends one per mouse move)
_PAD = 0.02  # the whole-map view is the data's bounding box, padded by this share of its size

Bounds = tuple[float, float, float, float]  # x0, x1, y0, y1 with x0 < x1, y0 < y1


def is_large(n: int) -> bool:
    """Whether a map of ``n`` items is drawn per view (aggregated when zoomed out)."""
    return n > MAX_POINTS


def full_bounds(x: np.ndarray, y: np.ndarray) -> Bounds:
    """The whole map's view: the bounding box of ``x``, ``y`` (N,), padded; never empty."""
    if len(x) == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    x0, x1, y0, y1 = float(np.min(x)), float(np.max(x)), float(np.min(y)), float(np.max(y))
    px = max(x1 - x0, 1e-6) * _PAD
    py = max(y1 - y0, 1e-6) * _PAD
    return (x0 - px, x1 + px, y0 - py, y1 + py)


def check_bounds(value: Any) -> Bounds | None:
    """``value`` as :data:`Bounds` if it is 4 finite numbers in order, else None (untrusted input)."""
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        return None
    try:
        x0, x1, y0, y1 = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)) or not (x0 < x1 and y0 < y1):
        return None
    return (x0, x1, y0, y1)


def _axis_range(relayout: dict[str, Any], axis: str) -> tuple[float, float] | None:
    """The ``[lo, hi]`` an event sets on ``axis`` (``xaxis.range[0]``/``[1]`` or ``xaxis.range``)."""
    pair = relayout.get(f"{axis}.range")
    if pair is None:
        pair = [relayout.get(f"{axis}.range[0]"), relayout.get(f"{axis}.range[1]")]
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        return None
    try:
        lo, hi = float(pair[0]), float(pair[1])
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
        return None
    return (min(lo, hi), max(lo, hi))


def view_from_relayout(relayout: Any, previous: Bounds | None, whole: Bounds) -> tuple[bool, Bounds | None]:
    """``(changed, view)`` after a plotly ``relayoutData`` event.

    ``view`` None is the whole map. An event that moves no axis (autosize, legend clicks) or
    holds garbage is ``(False, previous)``; ``autorange`` (double click) returns to the whole
    map. An event moving one axis keeps the other from ``previous`` (or ``whole``).
    """
    if not isinstance(relayout, dict):
        return False, previous
    if relayout.get("xaxis.autorange") or relayout.get("yaxis.autorange"):
        return previous is not None, None
    xr, yr = _axis_range(relayout, "xaxis"), _axis_range(relayout, "yaxis")
    if xr is None and yr is None:
        return False, previous
    base = previous or whole
    view = check_bounds([*(xr or base[:2]), *(yr or base[2:])])
    if view is None or view == previous:
        return False, previous
    return True, view


def widen(view: Bounds, factor: float, whole: Bounds) -> Bounds:
    """``view`` grown ``factor`` times about its centre, within ``whole`` (the plot shows more
    than the ranges a zoom asks for: its aspect ratio is kept, and a pan should find points)."""
    x0, x1, y0, y1 = view
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * factor / 2, (y1 - y0) * factor / 2
    out = (max(cx - hx, whole[0]), min(cx + hx, whole[1]), max(cy - hy, whole[2]), min(cy + hy, whole[3]))
    return out if out[0] < out[1] and out[2] < out[3] else view


def in_view(x: np.ndarray, y: np.ndarray, view: Bounds | None) -> np.ndarray:
    """Boolean mask (N,) of the points of ``x``, ``y`` (N,) inside ``view`` (None: all)."""
    if view is None:
        return np.ones(len(x), dtype=bool)
    x0, x1, y0, y1 = view
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


@dataclass(frozen=True)
class Density:
    """A view aggregated on a grid: ``counts`` (ny, nx) int32 of cell centres ``xc`` (nx,),
    ``yc`` (ny,); ``reps`` (M,) int32 ascending, one row per non-empty cell (its first in row order)."""

    counts: np.ndarray
    xc: np.ndarray
    yc: np.ndarray
    reps: np.ndarray


def density(x: np.ndarray, y: np.ndarray, rows: np.ndarray, view: Bounds, cells: int = DENSITY_CELLS) -> Density:
    """Counts of the points ``rows`` (K,) of ``x``, ``y`` (N,) on a grid over ``view``
    (``cells`` across its wider side, square cells) and one representative row per non-empty cell."""
    x0, x1, y0, y1 = view
    side = max(x1 - x0, y1 - y0) / cells
    nx = max(1, min(cells, int(math.ceil((x1 - x0) / side))))
    ny = max(1, min(cells, int(math.ceil((y1 - y0) / side))))
    px, py = x[rows], y[rows]
    ix = np.clip(((px - x0) / (x1 - x0) * nx).astype(np.int64), 0, nx - 1)
    iy = np.clip(((py - y0) / (y1 - y0) * ny).astype(np.int64), 0, ny - 1)
    cell = iy * nx + ix
    counts = np.bincount(cell, minlength=nx * ny).reshape(ny, nx).astype(np.int32)
    first = np.full(nx * ny, -1, dtype=np.int64)
    first[cell[::-1]] = np.arange(len(cell) - 1, -1, -1)  # written last to first: each cell keeps its first point
    reps = np.sort(np.asarray(rows, dtype=np.int32)[first[first >= 0]])
    xc = (x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx).astype(np.float32)
    yc = (y0 + (np.arange(ny) + 0.5) * (y1 - y0) / ny).astype(np.float32)
    return Density(counts, xc, yc, reps)


def polygon_mask(x: np.ndarray, y: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Boolean mask (N,) of the points ``x``, ``y`` (N,) inside the polygon ``xs``, ``ys`` (V,)
    (even-odd rule, closed implicitly); only points in its bounding box are tested."""
    inside = np.zeros(len(x), dtype=bool)
    if len(xs) < 3:
        return inside
    cand = np.flatnonzero((x >= xs.min()) & (x <= xs.max()) & (y >= ys.min()) & (y <= ys.max()))
    if len(cand) == 0:
        return inside
    px, py = x[cand].astype(np.float64), y[cand].astype(np.float64)
    hit = np.zeros(len(cand), dtype=bool)
    xj, yj = xs[-1], ys[-1]
    for xi, yi in zip(xs.tolist(), ys.tolist()):
        if yi != yj:
            crosses = (yi > py) != (yj > py)
            x_at = xi + (py - yi) * (xj - xi) / (yj - yi)
            hit ^= crosses & (px < x_at)
        xj, yj = xi, yi
    inside[cand] = hit
    return inside


def _floats(values: Any, limit: int) -> np.ndarray | None:
    """``values`` as a float64 array of at most ``limit`` finite numbers, else None."""
    if not isinstance(values, (list, tuple)) or not 0 < len(values) <= limit:
        return None
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr if arr.ndim == 1 and np.isfinite(arr).all() else None


def selection_rows(x: np.ndarray, y: np.ndarray, selected: Any) -> np.ndarray | None:
    """Rows (int64, ascending) of the points of ``x``, ``y`` (N,) inside a ``selectedData``'s
    lasso polygon (``lassoPoints``) or box (``range``); None when it holds neither (or garbage).

    A polygon of more than :data:`MAX_POLYGON_VERTICES` vertices is refused (None).
    """
    if not isinstance(selected, dict):
        return None
    lasso = selected.get("lassoPoints")
    if isinstance(lasso, dict):
        xs = _floats(lasso.get("x"), MAX_POLYGON_VERTICES)
        ys = _floats(lasso.get("y"), MAX_POLYGON_VERTICES)
        if xs is None or ys is None or len(xs) != len(ys):
            return None
        return np.flatnonzero(polygon_mask(x, y, xs, ys))
    box = selected.get("range")
    if isinstance(box, dict):
        xr, yr = _floats(box.get("x"), 2), _floats(box.get("y"), 2)
        if xr is None or yr is None or len(xr) != 2 or len(yr) != 2:
            return None
        view = (float(xr.min()), float(xr.max()), float(yr.min()), float(yr.max()))
        return np.flatnonzero(in_view(x, y, view))
    return None
