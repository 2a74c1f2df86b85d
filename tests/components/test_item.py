"""Item view: metadata, tags, neighbours, and a not-found view for unknown ids."""

from __future__ import annotations

import pytest

from components import item
from components.neighbours import frozen_neighbours, neighbours
from core.workspace import Workspace
from tests.components.test_overview import _text


def test_render_known_item(tiny_ws: Workspace) -> None:
    ids = tiny_ws.items()["item_id"].tolist()
    view = item.render(tiny_ws, ids[0])
    text = _text(view)
    assert "Dress" in text and ids[0] in text
    assert "Not clustered yet" in text


@pytest.mark.parametrize("bad", ["0123456789abcdef", "../manifest", "", "<script>"])
def test_unknown_item_is_not_found(tiny_ws: Workspace, bad: str) -> None:
    view = item.render(tiny_ws, bad)
    assert view.id == "not-found"
    assert "No item" in _text(view)


def test_neighbours_by_frozen_features(tiny_ws: Workspace) -> None:
    ids = tiny_ws.items()["item_id"].tolist()
    near = frozen_neighbours(tiny_ws, ids[0], k=3)
    assert len(near) == 3
    assert near[0][0] == ids[1] and near[0][1] > 0.99  # its near twin first
    assert ids[0] not in [n for n, _ in near]
    assert [s for _, s in near] == sorted((s for _, s in near), reverse=True)
    got, source = neighbours(tiny_ws, ids[0], k=3)
    assert got == near and source == "frozen features"
    assert frozen_neighbours(tiny_ws, "0123456789abcdef") == []


def test_add_tag(tiny_ws: Workspace) -> None:
    item_id = tiny_ws.items()["item_id"].iloc[0]
    tags, err = item.add_tag(tiny_ws, item_id, "evening")
    assert err is None and tags == ["evening"]
    tags, err = item.add_tag(tiny_ws, item_id, "")
    assert err and tags == ["evening"]
    assert item.add_tag(tiny_ws, "0123456789abcdef", "x")[1] == "This item is not in the catalog."


def test_metadata_rows_hide_paths() -> None:
    rows = dict(item.metadata_rows({"item_id": "a" * 16, "label": "Hat", "width": 10, "height": 20,
                                    "source": "/secret/folder/photo.jpg", "colour": "red"}))
    assert rows["source"] == "photo.jpg" and rows["size"] == "10 × 20 px" and rows["colour"] == "red"
