"""CIELAB conversion and CIEDE2000 on known swatches (Sharma, Wu & Dalal 2005 test data)."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.lab import delta_e, hex_to_rgb, rgb_to_lab


def test_known_swatches_in_lab():
    lab = rgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 0, 255]]))
    np.testing.assert_allclose(lab[0], [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(lab[1], [0, 0, 0], atol=0.01)
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.02)
    np.testing.assert_allclose(lab[3], [32.30, 79.19, -107.86], atol=0.02)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, -1.3802, -84.2814), (50.0, 0.0, -82.7485), 1.0000),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
])
def test_ciede2000_matches_the_published_pairs(a, b, expected):
    assert float(delta_e(np.array(a), np.array(b))) == pytest.approx(expected, abs=1e-4)


def test_delta_e_is_zero_for_equal_colours_and_orders_swatches():
    red, dark_red, blue = rgb_to_lab(np.array([[220, 20, 30], [160, 10, 20], [20, 40, 220]]))
    assert float(delta_e(red, red)) == pytest.approx(0, abs=1e-5)
    assert delta_e(red, dark_red) < delta_e(red, blue)


def test_hex_colours_are_checked():
    assert hex_to_rgb("#ff8000") == (255, 128, 0)
    with pytest.raises(InvalidInputError, match="#rrggbb"):
        hex_to_rgb("red")
