"""Near-duplicate groups: union-find on a planted graph, and precision/recall on a set made
from demo photos (crops, rescales, JPEG re-encodes, flips) embedded by the real backbone."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from core import duplicates
from core.errors import InvalidInputError
from tests.conftest import DEMO


def test_groups_join_chains_above_the_threshold_and_skip_hidden():
    # a ~ b ~ c chain, d alone, e ~ f
    X = np.array([[1, 0, 0], [0.99, 0.14, 0], [0.96, 0.28, 0], [0, 1, 0], [0, 0, 1], [0, 0.1, 0.995]], np.float32)
    g = duplicates.neighbour_graph(X, list("abcdef"), k=3)
    assert duplicates.groups_at(g, 0.95) == [["a", "b", "c"], ["e", "f"]]
    assert duplicates.groups_at(g, 0.999) == []
    assert duplicates.groups_at(g, 0.95, skip={"b"}) == [["a", "c"], ["e", "f"]]
    with pytest.raises(InvalidInputError, match="threshold"):
        duplicates.groups_at(g, 1.5)


def test_pair_scores():
    truth = {"a": "o", "b": "o", "c": "o", "d": "d", "e": "e"}
    s = duplicates.pair_scores([["a", "b"], ["d", "e"]], truth)
    assert s["precision"] == pytest.approx(0.5)
    assert s["recall"] == pytest.approx(1 / 3)
    assert duplicates.pair_scores([], truth)["precision"] == 1.0


def test_variants_are_what_they_say():
    im = Image.new("RGB", (100, 80), (10, 20, 30))
    crop, rescale, jpeg, flip = duplicates.make_variants(im)
    assert crop.size == (85, 68) and rescale.size == (50, 40) and jpeg.size == flip.size == (100, 80)
    with pytest.raises(InvalidInputError, match="unknown variant"):
        duplicates.make_variants(im, ["blur"])


def _demo(n: int, offset: int) -> list[Image.Image]:
    with open(DEMO / "catalog.csv") as fh:
        rows = list(csv.DictReader(fh))[offset::7][:n]
    return [Image.open(DEMO / r["path"]).convert("RGB") for r in rows]


@pytest.mark.usefixtures("one_torch_thread")
def test_precision_and_recall_on_generated_duplicates():
    from core.embed.onthefly import embed_pil

    ts = duplicates.make_test_set(_demo(8, 0), _demo(24, 3), seed=1)
    feats = np.concatenate([embed_pil(ts.images[s:s + 32]).features for s in range(0, len(ts.images), 32)])
    groups = duplicates.groups_at(duplicates.neighbour_graph(feats, ts.ids), duplicates.DEFAULT_THRESHOLD)
    scores = duplicates.pair_scores(groups, ts.truth)
    print(f"duplicates at {duplicates.DEFAULT_THRESHOLD}: {scores}")
    assert scores["precision"] >= 0.9
    assert scores["recall"] >= 0.8
