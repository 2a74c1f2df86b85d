"""A visitor's private scratch space: tags and direction examples kept apart from the shared set.

A hosted demo lets visitors use the tray without changing what anyone else sees: what a viewer
saves goes here, keyed by a random scratch id that only their (signed) session cookie names.
Rows live in the workspace's annotations store (own tables; :mod:`core.store`) and expire a day after the
space was opened; expired spaces are purged on every write. Caps bound what one space, and
all of them together, may hold. An editor promotes an entry to the shared
:class:`core.annotations.Annotations`.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from core.annotations import (
    MAX_NAME_LEN,
    MAX_TAG_LEN,
    Annotations,
    DirectionExamples,
    _clean_ids,
    _clean_text,
    with_examples,
)
from core.errors import InvalidInputError
from core.store import Conn, Schema, Store, open_store

if TYPE_CHECKING:
    from core.similarity.directions import Direction
    from core.workspace import Workspace

__all__ = ["SCRATCH_PREFIX", "SCRATCH_TTL_S", "ScratchSpace", "is_scratch_id", "new_scratch_id", "scratch_directions"]

SCRATCH_TTL_S = 24 * 3600
SCRATCH_PREFIX = "mine:"  # a scratch direction's key among the shared ones (sliders, weights)
MAX_SCRATCH_TAG_PAIRS = 1000
MAX_SCRATCH_DIRECTIONS = 10
MAX_SCRATCH_EXAMPLES = 200  # per side of one direction
MAX_SCRATCH_SPACES = 5000
SOURCE = "scratch"
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")

_SCHEMA = Schema(common="""
CREATE TABLE IF NOT EXISTS scratch_spaces (
    scratch_id TEXT PRIMARY KEY,
    created    DOUBLE PRECISION NOT NULL  -- unix time; the space expires SCRATCH_TTL_S later
);
CREATE TABLE IF NOT EXISTS scratch_tags (
    scratch_id TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    tag        TEXT NOT NULL,
    PRIMARY KEY (scratch_id, tag, item_id)
);
CREATE TABLE IF NOT EXISTS scratch_directions (
    scratch_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    positive   TEXT NOT NULL,    -- JSON list of item ids
    negative   TEXT NOT NULL,
    created    DOUBLE PRECISION NOT NULL,
    updated    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (scratch_id, name)
);
""", postgresql="""
ALTER TABLE scratch_tags ADD COLUMN IF NOT EXISTS rowid BIGSERIAL;  -- SQLite's implicit insertion order
""")


def new_scratch_id() -> str:
    """A fresh random scratch id (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def is_scratch_id(value: object) -> bool:
    """Whether ``value`` has the form of a scratch id."""
    return isinstance(value, str) and bool(_ID_RE.match(value))


def _cleaned(text: str, what: str, max_len: int, item_ids: Iterable[str]) -> tuple[str, list[str]]:
    """The cleaned name and ids of a write; InvalidInputError when either is unusable."""
    text = _clean_text(text, what, max_len)
    ids = _clean_ids(item_ids, "item_ids")
    if not ids:
        raise InvalidInputError("select at least one item")
    return text, ids


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))


class ScratchSpace:
    """One visitor's scratch tags and directions.

    Parameters
    ----------
    path : str, Path or Store
        The annotations database (``ws.annotations_path``; see :func:`core.store.open_store`).
    scratch_id : str
        The visitor's id (:func:`new_scratch_id`); ``InvalidInputError`` when malformed.
    ttl_s : float
        Lifetime of a space from its first write.
    clock : callable
        ``() -> unix time`` (tests pass a fake one to expire spaces).
    """

    def __init__(self, path: str | Path | Store, scratch_id: str, ttl_s: float = SCRATCH_TTL_S,
                 clock: Callable[[], float] = time.time) -> None:
        if not is_scratch_id(scratch_id):
            raise InvalidInputError("invalid scratch id")
        self.store = open_store(path)
        self.scratch_id = scratch_id
        self.ttl_s = ttl_s
        self.clock = clock

    def _connect(self) -> AbstractContextManager[Conn]:
        return self.store.connect(_SCHEMA)

    @contextmanager
    def _writing(self) -> Iterator[Conn]:
        """A transaction in which this space exists (expired ones purged first)."""
        with self.store.transaction(_SCHEMA) as con:
            self._open_for_write(con)
            yield con

    def _open_for_write(self, con: Conn) -> None:
        """Purge expired spaces, then make sure this one exists (within the caps)."""
        now = self.clock()
        expired = [r[0] for r in con.execute("SELECT scratch_id FROM scratch_spaces WHERE created < ?",
                                             (now - self.ttl_s,))]
        for table in ("scratch_tags", "scratch_directions", "scratch_spaces"):
            con.executemany(f"DELETE FROM {table} WHERE scratch_id = ?", [(s,) for s in expired])
        if con.execute("SELECT 1 FROM scratch_spaces WHERE scratch_id = ?", (self.scratch_id,)).fetchone():
            return
        if con.execute("SELECT COUNT(*) FROM scratch_spaces").fetchone()[0] >= MAX_SCRATCH_SPACES:
            raise InvalidInputError("too many visitors are saving right now; try again later")
        con.execute("INSERT INTO scratch_spaces(scratch_id, created) VALUES (?, ?)", (self.scratch_id, now))

    def _live(self, con: Conn) -> bool:
        row = con.execute("SELECT created FROM scratch_spaces WHERE scratch_id = ?", (self.scratch_id,)).fetchone()
        return row is not None and row[0] >= self.clock() - self.ttl_s

    # -- tags -----------------------------------------------------------------------------
    def add_tag(self, item_ids: Iterable[str], tag: str) -> int:
        """Tag items in this space; returns how many (item, tag) pairs were new."""
        tag, ids = _cleaned(tag, "tag", MAX_TAG_LEN, item_ids)
        with self._writing() as con:
            held = con.execute("SELECT COUNT(*) FROM scratch_tags WHERE scratch_id = ?", (self.scratch_id,)).fetchone()[0]
            new = con.executemany("INSERT INTO scratch_tags(scratch_id, item_id, tag) VALUES (?, ?, ?) "
                                  "ON CONFLICT DO NOTHING", [(self.scratch_id, i, tag) for i in ids])
            if held + new > MAX_SCRATCH_TAG_PAIRS:
                raise InvalidInputError(f"your scratch space holds at most {MAX_SCRATCH_TAG_PAIRS} tagged photos; "
                                        f"it has {held}")
            return new

    def tags(self) -> dict[str, list[str]]:
        """``{tag: item ids}`` of this space (empty once it expired)."""
        with self._connect() as con:
            if not self._live(con):
                return {}
            rows = con.execute("SELECT tag, item_id FROM scratch_tags WHERE scratch_id = ? ORDER BY rowid",
                               (self.scratch_id,)).fetchall()
        out: dict[str, list[str]] = {}
        for tag, item_id in rows:
            out.setdefault(tag, []).append(item_id)
        return dict(sorted(out.items()))  # tags in order here: the backends collate text differently

    # -- directions -----------------------------------------------------------------------
    def add_direction_examples(self, name: str, item_ids: Sequence[str], positive: bool) -> DirectionExamples:
        """Add items to one side of a scratch direction (created if new; removed from the other side)."""
        name, ids = _cleaned(name, "direction name", MAX_NAME_LEN, item_ids)
        with self._writing() as con:
            rows = {r[0]: r for r in con.execute(
                "SELECT name, positive, negative, created, updated FROM scratch_directions WHERE scratch_id = ?",
                (self.scratch_id,))}
            if name not in rows and len(rows) >= MAX_SCRATCH_DIRECTIONS:
                raise InvalidInputError(f"your scratch space holds at most {MAX_SCRATCH_DIRECTIONS} directions")
            current = self._examples(rows[name]) if name in rows else None
            pos, neg = with_examples(current, ids, positive)
            if max(len(pos), len(neg)) > MAX_SCRATCH_EXAMPLES:
                raise InvalidInputError(f"a direction of yours takes at most {MAX_SCRATCH_EXAMPLES} examples per side")
            now = self.clock()
            created = rows[name][3] if name in rows else now
            con.execute(
                "INSERT INTO scratch_directions(scratch_id, name, positive, negative, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(scratch_id, name) DO UPDATE SET "
                "positive = excluded.positive, negative = excluded.negative, updated = excluded.updated",
                (self.scratch_id, name, json.dumps(pos), json.dumps(neg), created, now),
            )
        return DirectionExamples(name, tuple(pos), tuple(neg), SOURCE, _iso(created), _iso(now))

    @staticmethod
    def _examples(row: Sequence[object]) -> DirectionExamples:
        name, pos, neg, created, updated = row
        return DirectionExamples(str(name), tuple(json.loads(str(pos))), tuple(json.loads(str(neg))), SOURCE,
                                 _iso(float(created)), _iso(float(updated)))  # type: ignore[arg-type]

    def direction_examples(self) -> list[DirectionExamples]:
        """This space's direction example sets, by name (empty once it expired)."""
        with self._connect() as con:
            if not self._live(con):
                return []
            rows = con.execute("SELECT name, positive, negative, created, updated FROM scratch_directions "
                               "WHERE scratch_id = ?", (self.scratch_id,)).fetchall()
        return sorted((self._examples(r) for r in rows), key=lambda d: d.name)

    # -- promotion (an editor's decision, checked by the caller) ---------------------------
    def promote_direction(self, name: str, shared: Annotations) -> DirectionExamples:
        """Save the scratch direction ``name`` to the shared set (replacing one of that name)
        and drop it from this space."""
        found = {d.name: d for d in self.direction_examples()}.get(name)
        if found is None:
            raise InvalidInputError(f"you have no direction named {name!r}")
        saved = shared.save_direction_examples(found.name, found.positive_ids, found.negative_ids, "promoted")
        with self.store.transaction(_SCHEMA) as con:
            con.execute("DELETE FROM scratch_directions WHERE scratch_id = ? AND name = ?", (self.scratch_id, name))
        return saved

    def promote_tag(self, tag: str, shared: Annotations) -> int:
        """Add the scratch tag ``tag`` to the shared tags and drop it from this space; returns
        how many pairs were new in the shared set."""
        ids = self.tags().get(tag)
        if not ids:
            raise InvalidInputError(f"you have no tag named {tag!r}")
        new = shared.add_tag(ids, tag)
        with self.store.transaction(_SCHEMA) as con:
            con.execute("DELETE FROM scratch_tags WHERE scratch_id = ? AND tag = ?", (self.scratch_id, tag))
        return new


def scratch_directions(ws: Workspace, scratch_id: str, run_id: str = "default") -> tuple[dict[str, Direction], list[str]]:
    """A visitor's directions built on the current similarity embeddings, keyed
    ``SCRATCH_PREFIX + name`` so they never shadow a shared one.

    Returns
    -------
    directions : by key.
    problems : one line per example set that cannot be built now (too few examples, ...).
    """
    from core.similarity.artifact import loaded
    from core.similarity.directions import from_examples

    found = ScratchSpace(ws.annotations_path, scratch_id).direction_examples()
    if not found:
        return {}, []
    art, _ = loaded(ws, run_id)
    out: dict[str, Direction] = {}
    problems: list[str] = []
    for ex in found:
        try:
            out[SCRATCH_PREFIX + ex.name] = from_examples(ex.name, art.embeddings, art.ids, list(ex.positive_ids),
                                                          list(ex.negative_ids), origin=f"annotations:{SOURCE}",
                                                          views=art.views_of)
        except InvalidInputError as exc:
            problems.append(f"{ex.name} (yours): {exc}")
    return out, problems
