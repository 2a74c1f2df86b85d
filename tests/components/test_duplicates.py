"""The Duplicates page's logic on a tiny real workspace (item 1 is the near twin of item 0)."""

from __future__ import annotations

from components import duplicates as dup
from core import hidden
from core.duplicates import DEFAULT_THRESHOLD, MAX_THRESHOLD, MIN_THRESHOLD
from core.workspace import Workspace


def test_keep_one_hides_the_rest_and_restore_brings_them_back(tiny_ws: Workspace) -> None:
    ids = tiny_ws.items()["item_id"].tolist()
    found = dup.groups(tiny_ws, DEFAULT_THRESHOLD)
    assert sorted(ids[:2]) in [sorted(g) for g in found]
    message, colour = dup.keep(tiny_ws, ids[1], DEFAULT_THRESHOLD)
    assert colour == "success" and "hid 1 duplicate" in message
    assert hidden.hidden_ids(tiny_ws.annotations_path) == {ids[0]}
    assert all(ids[0] not in g and ids[1] not in g for g in dup.groups(tiny_ws, DEFAULT_THRESHOLD))
    assert dup.keep(tiny_ws, ids[1], DEFAULT_THRESHOLD)[1] == "warning"  # no group left
    assert dup.restore(tiny_ws, ids[1]) == ("1 item back in view.", "success")
    assert hidden.hidden_ids(tiny_ws.annotations_path) == frozenset()


def test_untrusted_input_is_refused_or_clamped(tiny_ws: Workspace) -> None:
    assert dup.keep(tiny_ws, "../../etc/passwd", 0.9)[1] == "danger"
    assert dup.keep(tiny_ws, "0" * 16, 0.9)[1] == "danger"
    assert dup.restore(tiny_ws, {"x": 1})[1] == "danger"
    assert dup.clean_threshold("nan") == DEFAULT_THRESHOLD
    assert dup.clean_threshold(None) == DEFAULT_THRESHOLD
    assert dup.clean_threshold(5) == MAX_THRESHOLD and dup.clean_threshold(-1) == MIN_THRESHOLD
