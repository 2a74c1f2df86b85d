"""Colour descriptors that need no model: RGB histograms and dominant-colour palettes."""

from __future__ import annotations

import numpy as np
from PIL import Image

HIST_BINS = 8


def colour_histogram(image: Image.Image, bins: int = HIST_BINS) -> np.ndarray:
    """Normalised joint RGB histogram.

    Returns
    -------
    hist : (bins**3,) float32, sums to 1.
    """
    arr = np.asarray(image.convert("RGB").resize((128, 128)), dtype=np.uint16)
    idx = (arr // (256 // bins)).reshape(-1, 3)
    flat = (idx[:, 0] * bins + idx[:, 1]) * bins + idx[:, 2]
    hist = np.bincount(flat, minlength=bins**3).astype(np.float32)
    return hist / hist.sum()


def palette(image: Image.Image, n_colours: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Dominant colours of an image, most frequent first.

    Returns
    -------
    colours : (n, 3) uint8 RGB, n <= n_colours
    weights : (n,) float32, share of pixels of each colour, summing to 1.
    """
    small = image.convert("RGB").resize((64, 64))
    quant = small.quantize(colors=n_colours, method=Image.Quantize.MEDIANCUT)
    pal = np.asarray((quant.getpalette() or [])[: 3 * n_colours], dtype=np.uint8).reshape(-1, 3)
    counts = np.bincount(np.asarray(quant).ravel(), minlength=len(pal))[: len(pal)]
    order = np.argsort(-counts)
    order = order[counts[order] > 0]
    return pal[order], (counts[order] / counts.sum()).astype(np.float32)


def dominant_colour(image: Image.Image) -> str:
    """The item's main colour as ``#rrggbb``: the most frequent palette colour that differs
    from the background (estimated from the image border)."""
    rgb = image.convert("RGB").resize((64, 64))
    arr = np.asarray(rgb, dtype=np.int16)
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    background = np.median(border, axis=0)
    colours, _ = palette(rgb)
    for colour in colours:
        if np.abs(colour.astype(np.int16) - background).sum() > 60:
            return "#{:02x}{:02x}{:02x}".format(*colour)
    return "#{:02x}{:02x}{:02x}".format(*colours[0])


# colour families a stylist names (hue ranges in degrees; see :func:`colour_family`)
COLOUR_FAMILIES = ("black", "white", "grey", "beige", "brown", "red", "pink", "orange", "yellow", "green",
                   "blue", "navy", "purple")


def colour_family(hex_colour: str) -> str | None:
    """The family (one of :data:`COLOUR_FAMILIES`) of a ``#rrggbb`` colour; None when it is
    not one. Dark → black, unsaturated → white / grey, then by hue, with dark blue → navy,
    dark orange → brown, pale orange / yellow → beige, light red → pink."""
    import colorsys

    text = str(hex_colour).strip().lower()
    if len(text) != 7 or text[0] != "#" or any(c not in "0123456789abcdef" for c in text[1:]):
        return None
    r, g, b = (int(text[i : i + 2], 16) / 255.0 for i in (1, 3, 5))
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    hue = h * 360.0
    if v < 0.2:
        return "black"
    if s < 0.15:
        return "white" if v > 0.85 else "grey" if v > 0.25 else "black"
    if 15 <= hue < 45:
        if v < 0.6:
            return "brown"
        return "beige" if s < 0.45 else "orange"
    if 45 <= hue < 70:
        return "beige" if s < 0.35 else "yellow"
    if 70 <= hue < 170:
        return "green"
    if 170 <= hue < 255:
        return "navy" if v < 0.45 else "blue"
    if 255 <= hue < 290:
        return "purple"
    if 290 <= hue < 345:
        return "pink"
    return "pink" if s < 0.45 and v > 0.7 else "brown" if v < 0.4 else "red"
