"""Palettes (background masked) and search by colour on known swatches."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core import colour_search, palette
from core.errors import InvalidInputError
from core.lab import delta_e, rgb_to_lab
from core.workspace import Workspace


def _piece(colour: tuple[int, int, int], second: tuple[int, int, int] | None = None,
           background: tuple[int, int, int] = (245, 245, 245)) -> Image.Image:
    """A garment-like block of ``colour`` (a stripe of ``second``) on a plain background."""
    arr = np.zeros((120, 100, 3), np.uint8)
    arr[:] = background
    arr[20:100, 25:75] = colour
    if second is not None:
        arr[50:65, 25:75] = second
    return Image.fromarray(arr)


def test_palette_masks_the_background_and_orders_by_share():
    lab, w = palette.image_palette(_piece((200, 30, 30), (20, 40, 200)))
    assert lab.shape == (palette.N_COLOURS, 3) and w.shape == (palette.N_COLOURS,)
    assert w.sum() == pytest.approx(1.0)
    assert float(delta_e(lab[0], rgb_to_lab(np.array([200, 30, 30])))) < 3  # the red body first
    assert float(delta_e(lab[1], rgb_to_lab(np.array([20, 40, 200])))) < 3  # then the blue stripe
    assert all(float(delta_e(c, rgb_to_lab(np.array([245, 245, 245])))) > 5 for c, s in zip(lab, w) if s > 0.02)


def _workspace(tmp_path, swatches: dict[str, tuple[int, int, int]]) -> Workspace:
    import pandas as pd

    ws = Workspace(tmp_path / "ws")
    for item_id, rgb in swatches.items():
        path = ws.thumb_path(item_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        _piece(rgb).save(path)
    with ws.write_artifact("items", config={}) as tmp:
        pd.DataFrame({"item_id": list(swatches), "source": list(swatches)}).to_parquet(tmp / "items.parquet")
    return ws


def test_colour_search_ranks_by_delta_e(tmp_path):
    swatches = {"red": (200, 30, 30), "darkred": (150, 20, 25), "navy": (20, 30, 110), "yellow": (240, 210, 40)}
    ws = _workspace(tmp_path, swatches)
    summary = palette.palette_workspace(ws)
    assert summary == {"n_items": 4, "missing_thumbnails": 0}
    hits, ms = colour_search.search_colour(ws, colour_search.query_from_hex("#d02020"), k=4)
    assert [h.item_id for h in hits][:2] == ["red", "darkred"]
    assert hits[0].delta_e < 5 < hits[-1].delta_e and ms >= 0
    hits, _ = colour_search.search_colour(ws, colour_search.query_from_hex("#f0d030"), k=2, skip={"yellow"})
    assert hits[0].item_id != "yellow"
    hits, _ = colour_search.search_colour(ws, colour_search.query_from_hex("#f0d030"), k=4, allowed={"navy", "red"})
    assert {h.item_id for h in hits} == {"navy", "red"}
    swatch = colour_search.query_from_image(Image.new("RGB", (40, 40), (22, 32, 112)))
    assert colour_search.search_colour(ws, swatch, k=1)[0][0].item_id == "navy"
    # combined with an image query: colour re-ranks the image candidates
    ranked = colour_search.combine({"yellow": 0.9, "navy": 0.85}, ws, colour_search.query_from_hex("#141e6e"))
    assert [r[0] for r in ranked] == ["navy", "yellow"]
    with pytest.raises(InvalidInputError, match="k must be"):
        colour_search.search_colour(ws, swatch, k=0)


def test_palette_artifact_round_trip(tmp_path):
    ws = _workspace(tmp_path, {"a": (10, 200, 10)})
    palette.palette_workspace(ws)
    p = palette.load_palettes(ws)
    assert p.ids.tolist() == ["a"] and p.lab.shape == (1, palette.N_COLOURS, 3)
    assert p.weights.shape == (1, palette.N_COLOURS) and p.version == ws.version(palette.ARTIFACT)


def test_the_cheap_first_pass_keeps_the_closest(monkeypatch):
    from core.palette import Palettes

    rng = np.random.default_rng(0)
    n = 3000
    lab = np.stack([rng.uniform(0, 100, (n, 4)), rng.uniform(-80, 80, (n, 4)), rng.uniform(-80, 80, (n, 4))],
                   axis=-1).astype(np.float32)
    pal = Palettes(0, np.asarray([f"{i:016x}" for i in range(n)]), lab, rng.dirichlet(np.ones(4), n).astype(np.float32))
    q = colour_search.query_from_hex("#b22222")
    exact = [h.item_id for h in colour_search._rank(pal, q, 10, None, ())]
    monkeypatch.setattr(colour_search, "PREFILTER_OVER", 100)
    assert [h.item_id for h in colour_search._rank(pal, q, 10, None, ())] == exact
