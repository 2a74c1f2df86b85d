"""A visitor's scratch space: private to its id, expiring, capped, promotable to the shared set
(on SQLite and on a real PostgreSQL: ``backend``)."""

from __future__ import annotations

import pytest

from core import scratch
from core.annotations import Annotations
from core.errors import InvalidInputError
from core.scratch import ScratchSpace, new_scratch_id
from tests.conftest import Backend

IDS = [f"{i:016x}" for i in range(8)]


def test_spaces_are_private(backend: Backend) -> None:
    db = backend.path
    a, b = ScratchSpace(db, new_scratch_id()), ScratchSpace(db, new_scratch_id())
    assert a.add_tag(IDS[:3], "mine") == 3
    d = a.add_direction_examples("stripes", IDS[:3], positive=True)
    d = a.add_direction_examples("stripes", IDS[2:5], positive=False)
    assert d.positive_ids == tuple(IDS[:2]) and d.negative_ids == tuple(IDS[2:5])
    assert a.tags() == {"mine": IDS[:3]} and [x.name for x in a.direction_examples()] == ["stripes"]
    assert b.tags() == {} and b.direction_examples() == []
    shared = Annotations(db)
    assert shared.all_tags() == {} and shared.direction_examples() == []


def test_spaces_expire_and_are_purged(backend: Backend) -> None:
    db = backend.path
    now = [1000.0]
    old = ScratchSpace(db, new_scratch_id(), ttl_s=60, clock=lambda: now[0])
    old.add_tag(IDS[:2], "t")
    now[0] += 61
    assert old.tags() == {}
    ScratchSpace(db, new_scratch_id(), ttl_s=60, clock=lambda: now[0]).add_tag(IDS[:1], "u")  # a write purges
    assert backend.query("SELECT COUNT(*) FROM scratch_tags") == [(1,)]


def test_caps(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    space = ScratchSpace(backend.path, new_scratch_id())
    monkeypatch.setattr(scratch, "MAX_SCRATCH_DIRECTIONS", 2)
    monkeypatch.setattr(scratch, "MAX_SCRATCH_EXAMPLES", 3)
    monkeypatch.setattr(scratch, "MAX_SCRATCH_TAG_PAIRS", 4)
    space.add_direction_examples("a", IDS[:3], True)
    with pytest.raises(InvalidInputError, match="at most 3 examples"):
        space.add_direction_examples("a", IDS[3:4], True)
    space.add_direction_examples("b", IDS[:1], True)
    with pytest.raises(InvalidInputError, match="at most 2 directions"):
        space.add_direction_examples("c", IDS[:1], True)
    space.add_tag(IDS[:4], "t")
    with pytest.raises(InvalidInputError, match="at most 4"):
        space.add_tag(IDS[4:5], "t")
    assert space.tags() == {"t": IDS[:4]}  # the refused write left nothing behind
    with pytest.raises(InvalidInputError, match="invalid scratch id"):
        ScratchSpace(backend.path, "../x")


def test_promote_to_the_shared_set(backend: Backend) -> None:
    db = backend.path
    space, shared = ScratchSpace(db, new_scratch_id()), Annotations(db)
    space.add_direction_examples("stripes", IDS[:3], True)
    space.add_direction_examples("stripes", IDS[3:6], False)
    space.add_tag(IDS[:2], "summer")
    saved = space.promote_direction("stripes", shared)
    assert saved.positive_ids == tuple(IDS[:3]) and saved.source == "promoted"
    assert space.direction_examples() == [] and [d.name for d in shared.direction_examples()] == ["stripes"]
    assert space.promote_tag("summer", shared) == 2 and shared.items_with_tag("summer") == IDS[:2]
    with pytest.raises(InvalidInputError, match="no direction named"):
        space.promote_direction("stripes", shared)
