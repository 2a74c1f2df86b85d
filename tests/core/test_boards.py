"""Boards in the annotations database: order, notes, caps, scratch boards of viewers.

Every test runs on SQLite and on a real PostgreSQL (``backend``, tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import scratch
from core.annotations import Annotations
from core.boards import MAX_ITEM_NOTE_LEN, MAX_SCRATCH_BOARDS, Boards
from core.errors import InvalidInputError
from tests.conftest import Backend

IDS = [f"{n:016x}" for n in range(6)]


@pytest.fixture()
def db(backend: Backend) -> Path:
    return backend.path


def test_create_add_reorder_notes_round_trip(db: Path) -> None:
    boards = Boards(db)
    b = boards.create("Summer edit", "linen and light", IDS[:3])
    assert b.item_ids == IDS[:3] and b.note == "linen and light" and not b.mine
    assert boards.add(b.board_id, [IDS[1], IDS[3], IDS[4]]) == 2  # IDS[1] already there: stays in place
    assert boards.get(b.board_id).item_ids == [IDS[0], IDS[1], IDS[2], IDS[3], IDS[4]]
    order = [IDS[4], IDS[0], IDS[3], IDS[2], IDS[1]]
    assert boards.reorder(b.board_id, order).item_ids == order
    boards.set_item_note(b.board_id, IDS[3], "  with the straw hat \n")
    assert boards.remove(b.board_id, [IDS[0]]) == 1
    again = Boards(db).get(b.board_id)  # a new connection: it is on disk
    assert again.item_ids == [IDS[4], IDS[3], IDS[2], IDS[1]]
    assert {i.item_id: i.note for i in again.items}[IDS[3]] == "with the straw hat"
    renamed = boards.update(b.board_id, name="Summer  edit 2", note="")
    assert (renamed.name, renamed.note) == ("Summer edit 2", "")
    assert boards.find("Summer edit 2").board_id == b.board_id == boards.find(str(b.board_id)).board_id
    [summary] = boards.list()
    assert (summary.n_items, summary.cover_id) == (4, IDS[4])
    assert boards.members() == {b.board_id: set(again.item_ids)}
    assert boards.delete(b.board_id)
    assert boards.list() == []


def test_boards_survive_beside_tags(db: Path) -> None:
    Annotations(db).add_tag(IDS[:2], "red")
    b = Boards(db).create("a", item_ids=IDS[:2])
    assert Annotations(db).items_with_tag("red") == IDS[:2]
    assert Boards(db).get(b.board_id).item_ids == IDS[:2]


@pytest.mark.parametrize("order, problem", [
    (IDS[:2], "missing"),                      # one piece left out
    ([*IDS[:3], IDS[5]], "unknown"),           # a piece that is not on the board
    ([IDS[0], IDS[0], IDS[1], IDS[2]], "twice"),
])
def test_reorder_takes_only_a_permutation(db: Path, order: list[str], problem: str) -> None:
    boards = Boards(db)
    b = boards.create("b", item_ids=IDS[:3])
    with pytest.raises(InvalidInputError, match=problem):
        boards.reorder(b.board_id, order)
    assert boards.get(b.board_id).item_ids == IDS[:3]  # nothing lost


def test_bad_input_is_named(db: Path) -> None:
    boards = Boards(db)
    with pytest.raises(InvalidInputError, match="board name must not be empty"):
        boards.create("   ")
    b = boards.create("x")
    with pytest.raises(InvalidInputError, match="exists already"):
        boards.create(" x ")
    with pytest.raises(InvalidInputError, match="no board 999"):
        boards.get(999)
    with pytest.raises(InvalidInputError, match="invalid board id"):
        boards.get("../1")
    with pytest.raises(InvalidInputError, match="limit is 500"):
        boards.set_item_note(b.board_id, IDS[0], "x" * (MAX_ITEM_NOTE_LEN + 1))
    with pytest.raises(InvalidInputError, match="not on this board"):
        boards.set_item_note(b.board_id, IDS[0], "hello")
    with pytest.raises(InvalidInputError, match="at most 2000 pieces"):
        boards.create("big", item_ids=[f"{n:016x}" for n in range(2001)])
    with pytest.raises(InvalidInputError, match="no board named"):
        boards.find("nope")


def test_scratch_boards_are_private_and_expire(backend: Backend, db: Path) -> None:
    now = [1000.0]
    shared = Boards(db).create("shared", item_ids=IDS[:2])
    alice = Boards(db, scratch.new_scratch_id(), clock=lambda: now[0])
    bob = Boards(db, scratch.new_scratch_id(), clock=lambda: now[0])
    mine = alice.create("mine", item_ids=[IDS[3]])
    assert mine.mine
    assert {b.name for b in alice.list()} == {"shared", "mine"}
    assert {b.name for b in bob.list()} == {"shared"}
    assert [b.name for b in Boards(db).list()] == ["shared"]  # editors do not see viewers' scratch
    with pytest.raises(InvalidInputError, match="no board"):
        bob.get(mine.board_id)
    with pytest.raises(InvalidInputError, match="only an editor"):
        alice.add(shared.board_id, [IDS[4]])
    with pytest.raises(InvalidInputError, match="no board"):
        Boards(db).add(mine.board_id, [IDS[4]])  # the shared repository never writes a viewer's board
    assert Boards(db).get(shared.board_id).item_ids == IDS[:2]
    for n in range(MAX_SCRATCH_BOARDS - 1):
        alice.create(f"b{n}")
    with pytest.raises(InvalidInputError, match="at most 10 boards"):
        alice.create("one too many")
    now[0] += scratch.SCRATCH_TTL_S + 1  # a day later alice's space has expired
    assert {b.name for b in alice.list()} == {"shared"}
    bob.create("later")  # any scratch write purges expired spaces and their boards
    owners = {r[0] for r in backend.query("SELECT owner FROM boards")}
    assert alice.scratch_id not in owners


def test_backend_follows_database_url(backend: Backend, db: Path) -> None:
    boards = Boards(db)
    assert boards.store.kind == backend.kind
    b = boards.create("Resort", "for the lookbook", IDS[:2])
    assert backend.query("SELECT name, note FROM boards") == [("Resort", "for the lookbook")]
    assert backend.query("SELECT item_id FROM board_items ORDER BY position") == [(i,) for i in IDS[:2]]
    assert Boards(db).create("second").board_id > b.board_id
    assert db.exists() == (backend.kind == "sqlite")  # no file when in PostgreSQL


def test_workspaces_sharing_a_database_keep_their_own_boards(backend: Backend) -> None:
    """Collections served from one DATABASE_URL: one schema each (one file each on SQLite)."""
    summer, winter = backend.tmp / "summer" / "annotations.sqlite", backend.tmp / "winter" / "annotations.sqlite"
    Boards(summer).create("Linen", item_ids=IDS[:2])
    Boards(winter).create("Coats", item_ids=IDS[2:3])
    assert [b.name for b in Boards(summer).list()] == ["Linen"]
    assert [b.name for b in Boards(winter).list()] == ["Coats"]


def test_tags_by_item_in_text_order(db: Path) -> None:
    ann = Annotations(db)
    ann.add_tag([IDS[1]], "red")
    ann.add_tag([IDS[1], IDS[0]], "Blue")
    ann.add_tag([IDS[1]], "blue")
    assert ann.tags_by_item() == {IDS[0]: ["Blue"], IDS[1]: ["Blue", "blue", "red"]}
