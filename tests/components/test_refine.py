"""Search refinements on a tiny real workspace: thumbs (Rocchio), hidden duplicates, colour."""

from __future__ import annotations

from components import clusters, explore, refine, search
from core import hidden, pipeline
from core.annotations import Annotations
from core.scratch import ScratchSpace, new_scratch_id
from core.workspace import Workspace


def test_thumbs_down_takes_a_result_out_and_refines_the_query(tiny_sim_ws: Workspace) -> None:
    ids = tiny_sim_ws.items()["item_id"].tolist()
    q = search.query_from_item(tiny_sim_ws, ids[0])
    before, _ = refine.results(tiny_sim_ws, q, k=5)
    first = before[0]["item_id"]
    marks = refine.toggle(None, q, first, "down")
    after, notes = refine.results(tiny_sim_ws, q, mark_data=marks, k=5)
    assert first not in [r["item_id"] for r in after] and notes == ["refined by 0 👍 and 1 👎"]
    # a thumb up keeps the item, marked; a second click takes the thumb back
    up = refine.toggle(marks, q, before[1]["item_id"], "up")
    assert refine.marks(up, q) == ([before[1]["item_id"]], [first])
    shown = {r["item_id"]: r["vote"] for r in refine.results(tiny_sim_ws, q, mark_data=up, k=5)[0]}
    assert shown.get(before[1]["item_id"]) == "up"
    assert refine.marks(refine.toggle(up, q, before[1]["item_id"], "up"), q) == ([], [first])
    # marks made on another query, or junk from the browser, are ignored
    other = search.query_from_item(tiny_sim_ws, ids[2])
    assert refine.marks(marks, other) == ([], [])
    assert refine.marks({"query": refine.query_key(q), "up": ["../etc", 3], "down": "x"}, q) == ([], [])


def test_hidden_duplicates_leave_search_the_map_and_galleries(tiny_clustered_ws: Workspace) -> None:
    ws = tiny_clustered_ws
    ids = ws.items()["item_id"].tolist()
    q = search.query_from_item(ws, ids[0])
    assert ids[1] in [r["item_id"] for r in search.search(ws, q, k=5)]
    hidden.hide_duplicates(ws.annotations_path, ids[0], [ids[1]])
    assert ids[1] not in [r["item_id"] for r in search.search(ws, q, k=5)]
    assert ids[1] not in [r["item_id"] for r in refine.results(ws, q, k=5)[0]]
    assert ids[1] not in explore.map_frame(explore.current_key(ws))["item_id"].tolist()
    members = [i for c in clusters.clusterdata.members(ws) for i in clusters.member_order(ws, c)]
    assert ids[1] not in members and ids[0] in members
    hidden.unhide(ws.annotations_path, [ids[0]])
    assert ids[1] in explore.map_frame(explore.current_key(ws))["item_id"].tolist()


def test_colour_search_alone_and_with_an_image(tiny_sim_ws: Workspace) -> None:
    ws = tiny_sim_ws
    pipeline.palette(ws)
    ids = ws.items()["item_id"].tolist()  # photos 0-1 red, 2 blue, 3 yellow (tests/components/conftest.py)
    colour = refine.colour_from_hex("#1e1ec8")
    alone, notes = refine.results(ws, None, colour=colour, k=3)
    assert alone[0]["item_id"] == ids[2] and alone[0]["delta_e"] < alone[-1]["delta_e"]
    assert notes[0].startswith("closest in colour")
    q = search.query_from_item(ws, ids[0])
    plain = [r["item_id"] for r in refine.results(ws, q, k=5)[0]]
    mixed, notes = refine.results(ws, q, colour=colour, k=5)
    assert "re-ranked by colour" in notes
    scores = [r["score"] for r in mixed]
    assert scores == sorted(scores, reverse=True)  # cosine - ΔE / 100, best first
    assert [r["item_id"] for r in mixed].index(ids[2]) <= plain.index(ids[2])
    assert refine.colour_query({"lab": [[1e9, 0, 0]], "weights": [1]}) is None
    assert refine.colour_query({"lab": "x", "weights": [1]}) is None


def test_filter_bar_thins_image_and_colour_search(tiny_sim_ws: Workspace) -> None:
    """``allowed`` (what passes the filter bar): colour search ranks only those palettes; an
    image search thins a wider candidate list, best first."""
    ws = tiny_sim_ws
    pipeline.palette(ws)
    ids = ws.items()["item_id"].tolist()
    allowed = {ids[0], ids[3]}
    colour = refine.colour_from_hex("#1e1ec8")  # closest: the blue photo 2, left out by the filter
    alone, _ = refine.results(ws, None, colour=colour, k=3, allowed=allowed)
    assert {r["item_id"] for r in alone} == allowed
    q = search.query_from_item(ws, ids[1])
    plain = [r["item_id"] for r in refine.results(ws, q, k=5)[0]]
    thinned = [r["item_id"] for r in refine.results(ws, q, k=5, allowed=allowed)[0]]
    assert thinned == [i for i in plain if i in allowed]


def test_thumbs_saved_as_a_direction(tiny_sim_ws: Workspace) -> None:
    ws = tiny_sim_ws
    ids = ws.items()["item_id"].tolist()
    q = search.query_from_item(ws, ids[0])
    marks = None
    for i in ids[:3]:
        marks = refine.toggle(marks, q, i, "up")
    message, colour = refine.save_direction(ws, "reddish", marks, q, editor=True, scratch=None)
    assert colour == "danger" and "negative" in message  # three of each side are needed
    for i in ids[3:6]:
        marks = refine.toggle(marks, q, i, "down")
    assert refine.save_direction(ws, " ", marks, q, editor=True, scratch=None)[1] == "warning"
    message, colour = refine.save_direction(ws, "reddish", marks, q, editor=True, scratch=None)
    assert colour == "success", message
    saved = {d.name: d for d in Annotations(ws.annotations_path).direction_examples()}
    assert set(saved["reddish"].positive_ids) == set(ids[:3]) and set(saved["reddish"].negative_ids) == set(ids[3:6])
    me = new_scratch_id()
    message, colour = refine.save_direction(ws, "mine", marks, q, editor=False, scratch=me)
    assert colour == "success", message
    assert [d.name for d in ScratchSpace(ws.annotations_path, me).direction_examples()] == ["mine"]
    assert "mine" not in {d.name for d in Annotations(ws.annotations_path).direction_examples()}
