"""Boards: named, ordered sets of items with a note per board and per item.

A stylist pulls pieces together on a board (from the tray, a gallery card, search results),
orders them, writes notes, then exports the board (:mod:`core.export`). Boards live in the
workspace's annotations store (own tables in ``annotations.sqlite``, or in PostgreSQL when
``DATABASE_URL`` is set: :mod:`core.store`), never in the recomputable artifacts, so re-running
the pipeline loses none of them.

Shared boards belong to the catalog (editors write them). A viewer's boards belong to their
scratch space (:mod:`core.scratch`): keyed by their scratch id, seen only by them, and gone when
the space expires. :class:`Boards` opened with a ``scratch_id`` reads the shared boards and its
own, and writes only its own; opened without, it reads and writes the shared ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from core import scratch
from core.annotations import MAX_NAME_LEN, _clean_ids, _clean_text
from core.errors import InvalidInputError
from core.store import Conn, Schema, Store, open_store

__all__ = ["MAX_BOARD_ITEMS", "MAX_BOARD_NOTE_LEN", "MAX_BOARDS", "MAX_ITEM_NOTE_LEN", "MAX_SCRATCH_BOARDS", "Board",
           "BoardItem", "BoardSummary", "Boards"]

MAX_BOARDS = 500  # shared boards of one catalog
MAX_SCRATCH_BOARDS = 10  # boards of one viewer's scratch space
MAX_BOARD_ITEMS = 2000
MAX_SCRATCH_BOARD_ITEMS = 500
MAX_BOARD_NOTE_LEN = 2000
MAX_ITEM_NOTE_LEN = 500
SHARED = ""  # the owner of shared boards

# the boards table differs only in how its id counts up (SQLite AUTOINCREMENT never reuses an id)
_BOARDS_COLUMNS = """
    owner    TEXT NOT NULL,          -- '' shared, else a scratch id
    name     TEXT NOT NULL,
    note     TEXT NOT NULL DEFAULT '',
    created  DOUBLE PRECISION NOT NULL,  -- unix time
    updated  DOUBLE PRECISION NOT NULL,
    UNIQUE (owner, name)
);
"""
_ITEMS = """
CREATE TABLE IF NOT EXISTS board_items (
    board_id BIGINT NOT NULL,
    item_id  TEXT NOT NULL,
    position INTEGER NOT NULL,
    note     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (board_id, item_id)
);
CREATE INDEX IF NOT EXISTS board_items_order ON board_items(board_id, position);
"""
_SCHEMA = scratch._SCHEMA + Schema(
    common="",
    sqlite="CREATE TABLE IF NOT EXISTS boards (\n    board_id INTEGER PRIMARY KEY AUTOINCREMENT," + _BOARDS_COLUMNS + _ITEMS,
    postgresql="CREATE TABLE IF NOT EXISTS boards (\n    board_id BIGSERIAL PRIMARY KEY," + _BOARDS_COLUMNS + _ITEMS,
)


@dataclass(frozen=True)
class BoardItem:
    """One piece on a board."""

    item_id: str
    note: str = ""


@dataclass(frozen=True)
class BoardSummary:
    """A board as listed: its size and first piece (the cover), without its items."""

    board_id: int
    name: str
    note: str
    n_items: int
    cover_id: str | None
    mine: bool  # a viewer's own (scratch) board
    updated: float


@dataclass(frozen=True)
class Board:
    """A board with its pieces in order."""

    board_id: int
    name: str
    note: str
    items: tuple[BoardItem, ...]
    mine: bool
    created: float
    updated: float

    @property
    def item_ids(self) -> list[str]:
        return [i.item_id for i in self.items]


def _note(value: str | None, what: str, max_len: int) -> str:
    """A note, stripped at the ends (line breaks kept); empty allowed."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text, got {type(value).__name__}")
    text = value.strip()
    if len(text) > max_len:
        raise InvalidInputError(f"{what} is {len(text)} characters long; the limit is {max_len}")
    return text


def _board_id(value: object) -> int:
    try:
        out = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInputError(f"invalid board id {str(value)[:40]!r}") from None
    if out <= 0:
        raise InvalidInputError(f"invalid board id {out}")
    return out


class Boards:
    """Repository over the boards of the workspace's annotations store.

    Parameters
    ----------
    path : str, Path or Store
        The annotations database (``ws.annotations_path``; PostgreSQL instead when
        ``DATABASE_URL`` is set, see :func:`core.store.open_store`), or a store.
    scratch_id : str, optional
        A viewer's scratch id: writes go to their own boards only; reads see the shared
        boards and theirs. None: the shared boards (an editor; the caller checks the role).
    clock : callable
        ``() -> unix time`` (tests pass a fake one to expire scratch spaces).
    """

    def __init__(self, path: str | Path | Store, scratch_id: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if scratch_id is not None and not scratch.is_scratch_id(scratch_id):
            raise InvalidInputError("invalid scratch id")
        self.store = open_store(path)
        self.scratch_id = scratch_id
        self.owner = SHARED if scratch_id is None else scratch_id
        self.clock = clock

    # -- plumbing -----------------------------------------------------------------------
    def _connect(self) -> AbstractContextManager[Conn]:
        return self.store.connect(_SCHEMA)

    @contextmanager
    def _writing(self) -> Iterator[Conn]:
        """A transaction; for a scratch owner, one in which its space exists (expired spaces
        and their boards purged first)."""
        with self.store.transaction(_SCHEMA) as con:
            if self.scratch_id is not None:
                scratch.ScratchSpace(self.store, self.scratch_id, clock=self.clock)._open_for_write(con)
                stale = [r[0] for r in con.execute(
                    "SELECT board_id FROM boards WHERE owner != '' AND owner NOT IN "
                    "(SELECT scratch_id FROM scratch_spaces)")]
                con.executemany("DELETE FROM board_items WHERE board_id = ?", [(b,) for b in stale])
                con.executemany("DELETE FROM boards WHERE board_id = ?", [(b,) for b in stale])
            yield con

    def _visible_owners(self, con: Conn) -> list[str]:
        """Owners whose boards this repository reads: shared, and a live scratch space."""
        if self.scratch_id is None:
            return [SHARED]
        row = con.execute("SELECT created FROM scratch_spaces WHERE scratch_id = ?", (self.scratch_id,)).fetchone()
        live = row is not None and row[0] >= self.clock() - scratch.SCRATCH_TTL_S
        return [SHARED, self.scratch_id] if live else [SHARED]

    def _row(self, con: Conn, board_id: object, write: bool) -> tuple[int, str, str, str, float, float]:
        """``(board_id, owner, name, note, created, updated)`` of a board this repository may
        read (``write=False``) or write; InvalidInputError naming the board otherwise."""
        bid = _board_id(board_id)
        row = con.execute("SELECT board_id, owner, name, note, created, updated FROM boards WHERE board_id = ?",
                          (bid,)).fetchone()
        owners = [self.owner] if write else self._visible_owners(con)
        if row is None or row[1] not in owners:
            if row is not None and row[1] in self._visible_owners(con):
                raise InvalidInputError(f"board “{row[2]}” is shared: only an editor can change it")
            raise InvalidInputError(f"there is no board {bid}")
        return row

    def _touch(self, con: Conn, bid: int) -> None:
        con.execute("UPDATE boards SET updated = ? WHERE board_id = ?", (self.clock(), bid))

    # -- reading ------------------------------------------------------------------------
    def list(self) -> list[BoardSummary]:
        """The boards this repository sees, most recently changed first."""
        with self._connect() as con:
            owners = self._visible_owners(con)
            marks = ",".join("?" * len(owners))
            rows = con.execute(
                f"SELECT b.board_id, b.name, b.note, b.owner, b.updated, "
                f"(SELECT COUNT(*) FROM board_items i WHERE i.board_id = b.board_id), "
                f"(SELECT item_id FROM board_items i WHERE i.board_id = b.board_id ORDER BY position LIMIT 1) "
                f"FROM boards b WHERE b.owner IN ({marks}) ORDER BY b.updated DESC, b.board_id DESC",
                owners,
            ).fetchall()
        return [BoardSummary(int(b), n, note, int(count), cover, owner != SHARED, float(up))
                for b, n, note, owner, up, count, cover in rows]

    def get(self, board_id: object) -> Board:
        """A board with its pieces in order; InvalidInputError when it is not visible here."""
        with self._connect() as con:
            bid, owner, name, note, created, updated = self._row(con, board_id, write=False)
            items = con.execute("SELECT item_id, note FROM board_items WHERE board_id = ? ORDER BY position",
                                (bid,)).fetchall()
        return Board(bid, name, note, tuple(BoardItem(i, n) for i, n in items), owner != SHARED, created, updated)

    def find(self, name_or_id: str) -> Board:
        """A board by id or by name (its own name first, then a shared one)."""
        text = str(name_or_id).strip()
        if text.isdigit():
            return self.get(text)
        with self._connect() as con:
            owners = self._visible_owners(con)
            rows = {o: b for b, o in con.execute(
                f"SELECT board_id, owner FROM boards WHERE name = ? AND owner IN ({','.join('?' * len(owners))})",
                (" ".join(text.split()), *owners))}
        found = rows.get(self.owner, rows.get(SHARED))
        if found is None:
            raise InvalidInputError(f"there is no board named {text[:80]!r}")
        return self.get(found)

    # -- writing ------------------------------------------------------------------------
    def create(self, name: str, note: str | None = None, item_ids: Iterable[str] = ()) -> Board:
        """A new board (its name unique among the owner's boards), with ``item_ids`` in order."""
        name = _clean_text(name, "board name", MAX_NAME_LEN)
        note = _note(note, "board note", MAX_BOARD_NOTE_LEN)
        ids = _clean_ids(item_ids, "item_ids")
        cap_boards = MAX_BOARDS if self.scratch_id is None else MAX_SCRATCH_BOARDS
        self._check_size(len(ids))
        now = self.clock()
        with self._writing() as con:
            if con.execute("SELECT 1 FROM boards WHERE owner = ? AND name = ?", (self.owner, name)).fetchone():
                raise InvalidInputError(f"a board named “{name}” exists already")
            if con.execute("SELECT COUNT(*) FROM boards WHERE owner = ?", (self.owner,)).fetchone()[0] >= cap_boards:
                raise InvalidInputError(f"at most {cap_boards} boards can be kept" +
                                        ("" if self.scratch_id is None else " in your own space"))
            bid = int(con.execute("INSERT INTO boards(owner, name, note, created, updated) VALUES (?, ?, ?, ?, ?) "
                                  "RETURNING board_id", (self.owner, name, note, now, now)).fetchone()[0])
            con.executemany("INSERT INTO board_items(board_id, item_id, position, note) VALUES (?, ?, ?, '')",
                            [(bid, i, n) for n, i in enumerate(ids)])
        return self.get(bid)

    def _check_size(self, n: int) -> None:
        cap = MAX_BOARD_ITEMS if self.scratch_id is None else MAX_SCRATCH_BOARD_ITEMS
        if n > cap:
            raise InvalidInputError(f"a board holds at most {cap} pieces; this would make {n}")

    def add(self, board_id: object, item_ids: Iterable[str]) -> int:
        """Append items at the end (those already on the board stay where they are); returns
        how many were new."""
        ids = _clean_ids(item_ids, "item_ids")
        if not ids:
            raise InvalidInputError("select at least one item to add")
        with self._writing() as con:
            bid = self._row(con, board_id, write=True)[0]
            have = {r[0] for r in con.execute("SELECT item_id FROM board_items WHERE board_id = ?", (bid,))}
            new = [i for i in ids if i not in have]
            self._check_size(len(have) + len(new))
            start = con.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM board_items WHERE board_id = ?",
                                (bid,)).fetchone()[0]
            con.executemany("INSERT INTO board_items(board_id, item_id, position, note) VALUES (?, ?, ?, '')",
                            [(bid, i, start + n) for n, i in enumerate(new)])
            self._touch(con, bid)
            return len(new)

    def remove(self, board_id: object, item_ids: Iterable[str]) -> int:
        """Take items off a board; returns how many were on it."""
        ids = _clean_ids(item_ids, "item_ids")
        with self._writing() as con:
            bid = self._row(con, board_id, write=True)[0]
            removed = con.executemany("DELETE FROM board_items WHERE board_id = ? AND item_id = ?",
                                      [(bid, i) for i in ids])
            self._touch(con, bid)
            return removed

    def reorder(self, board_id: object, item_ids: Sequence[str]) -> Board:
        """Put the board's pieces in the order of ``item_ids``, which must name each piece of the
        board exactly once (the browser's drag and drop sends it; nothing else is accepted)."""
        ids = _clean_ids(item_ids, "item_ids")
        if len(ids) != len(list(item_ids)):
            raise InvalidInputError("the new order names a piece twice")
        with self._writing() as con:
            bid = self._row(con, board_id, write=True)[0]
            have = {r[0] for r in con.execute("SELECT item_id FROM board_items WHERE board_id = ?", (bid,))}
            if set(ids) != have:
                raise InvalidInputError("the new order does not name the board's pieces exactly "
                                        f"({len(set(ids) - have)} unknown, {len(have - set(ids))} missing); "
                                        "reload the board and try again")
            con.executemany("UPDATE board_items SET position = ? WHERE board_id = ? AND item_id = ?",
                            [(n, bid, i) for n, i in enumerate(ids)])
            self._touch(con, bid)
        return self.get(bid)

    def set_item_note(self, board_id: object, item_id: str, note: str | None) -> None:
        """The stylist's note on one piece of a board (empty clears it)."""
        text = _note(note, "note", MAX_ITEM_NOTE_LEN)
        with self._writing() as con:
            bid = self._row(con, board_id, write=True)[0]
            cur = con.execute("UPDATE board_items SET note = ? WHERE board_id = ? AND item_id = ?", (text, bid, item_id))
            if cur.rowcount == 0:
                raise InvalidInputError(f"item {str(item_id)[:20]!r} is not on this board")
            self._touch(con, bid)

    def update(self, board_id: object, name: str | None = None, note: str | None = None) -> Board:
        """Rename a board and/or change its note (None leaves a field as it is)."""
        with self._writing() as con:
            bid, _, old_name, old_note, _, _ = self._row(con, board_id, write=True)
            new_name = old_name if name is None else _clean_text(name, "board name", MAX_NAME_LEN)
            new_note = old_note if note is None else _note(note, "board note", MAX_BOARD_NOTE_LEN)
            if new_name != old_name and con.execute("SELECT 1 FROM boards WHERE owner = ? AND name = ?",
                                                    (self.owner, new_name)).fetchone():
                raise InvalidInputError(f"a board named “{new_name}” exists already")
            con.execute("UPDATE boards SET name = ?, note = ?, updated = ? WHERE board_id = ?",
                        (new_name, new_note, self.clock(), bid))
        return self.get(bid)

    def delete(self, board_id: object) -> bool:
        """Delete a board and its pieces (the items themselves stay in the catalog)."""
        with self._writing() as con:
            bid = self._row(con, board_id, write=True)[0]
            con.execute("DELETE FROM board_items WHERE board_id = ?", (bid,))
            con.execute("DELETE FROM boards WHERE board_id = ?", (bid,))
        return True

    def members(self) -> dict[int, set[str]]:
        """``{board id: item ids}`` of every board seen here (for filters)."""
        with self._connect() as con:
            owners = self._visible_owners(con)
            rows = con.execute(
                f"SELECT i.board_id, i.item_id FROM board_items i JOIN boards b ON b.board_id = i.board_id "
                f"WHERE b.owner IN ({','.join('?' * len(owners))})", owners).fetchall()
        out: dict[int, set[str]] = {}
        for b, i in rows:
            out.setdefault(int(b), set()).add(i)
        return out
