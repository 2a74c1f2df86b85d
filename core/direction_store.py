"""Direction example sets in the annotations store: their table, caps and version, read and
written inside the caller's connection or transaction (:class:`core.annotations.Annotations`
opens them; :mod:`core.store` says which database).

Every write of the table bumps ``meta.directions_version`` in the same transaction (triggers,
whoever writes), and ``meta.generation`` is random per database, so ``(generation, version)``
is a correct cache key for directions built from the sets, across processes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from core.errors import InvalidInputError
from core.store import Conn, Schema

__all__ = ["DirectionExamples", "MAX_DIRECTIONS", "MAX_EXAMPLES_PER_SIDE", "SCHEMA", "add", "check_sides",
           "read_all", "version", "with_examples", "write"]

MAX_EXAMPLES_PER_SIDE = 500  # example ids on each side of one direction
MAX_DIRECTIONS = 100  # saved example sets in one annotations file

SCHEMA = Schema(common="""
CREATE TABLE IF NOT EXISTS direction_examples (
    name     TEXT PRIMARY KEY,
    positive TEXT NOT NULL,  -- JSON list of item ids
    negative TEXT NOT NULL,  -- JSON list of item ids
    source   TEXT NOT NULL,
    created  TEXT NOT NULL,
    updated  TEXT NOT NULL
);
-- meta.directions_version: bumped inside every transaction that writes direction_examples
-- (whoever writes); meta.generation: random per database. Created by the first write, so that
-- opening the database for reading never writes.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""", sqlite="".join(f"""
CREATE TRIGGER IF NOT EXISTS directions_{op.lower()} AFTER {op} ON direction_examples BEGIN
    INSERT INTO meta(key, value) SELECT 'generation', lower(hex(randomblob(8)))
        WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'generation');
    INSERT INTO meta(key, value) SELECT 'directions_version', '0'
        WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'directions_version');
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'directions_version';
END;""" for op in ("INSERT", "UPDATE", "DELETE")), postgresql="""
CREATE OR REPLACE FUNCTION style_atlas_directions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO meta(key, value) VALUES ('generation', substr(md5(random()::text || clock_timestamp()::text), 1, 16))
        ON CONFLICT (key) DO NOTHING;
    INSERT INTO meta(key, value) VALUES ('directions_version', '1')
        ON CONFLICT (key) DO UPDATE SET value = (CAST(meta.value AS BIGINT) + 1)::text;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER directions_changed AFTER INSERT OR UPDATE OR DELETE ON direction_examples
    FOR EACH ROW EXECUTE FUNCTION style_atlas_directions_changed();
""")


@dataclass(frozen=True)
class DirectionExamples:
    """A named pair of example sets from which a direction is built.

    Attributes
    ----------
    name : str
        Direction name, e.g. ``"stripes"``.
    positive_ids, negative_ids : tuple of str
        Item ids that show / do not show the attribute.
    source : str
        Where the sets came from (e.g. ``"dashboard"``, ``"data/demo/directions.json"``).
    created, updated : str
        ISO-8601 UTC timestamps.
    """

    name: str
    positive_ids: tuple[str, ...]
    negative_ids: tuple[str, ...]
    source: str
    created: str
    updated: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def check_sides(name: str, pos: list[str], neg: list[str]) -> None:
    """InvalidInputError for an item on both sides or a side over ``MAX_EXAMPLES_PER_SIDE``."""
    both = set(pos) & set(neg)
    if both:
        raise InvalidInputError(f"{len(both)} item(s) are both positive and negative examples of {name!r}")
    for side, got in (("positive", pos), ("negative", neg)):
        if len(got) > MAX_EXAMPLES_PER_SIDE:
            raise InvalidInputError(f"direction {name!r} may have at most {MAX_EXAMPLES_PER_SIDE} {side} "
                                    f"examples; this would make {len(got)}")


def write(con: Conn, name: str, pos: list[str], neg: list[str], source: str) -> DirectionExamples:
    """Insert or replace one example set inside the caller's transaction (a new name only while
    the file holds fewer than ``MAX_DIRECTIONS``)."""
    now = _now()
    row = con.execute("SELECT created FROM direction_examples WHERE name = ?", (name,)).fetchone()
    if row is None and con.execute("SELECT COUNT(*) FROM direction_examples").fetchone()[0] >= MAX_DIRECTIONS:
        raise InvalidInputError(f"a catalog may have at most {MAX_DIRECTIONS} directions and this one has "
                                f"{MAX_DIRECTIONS}: delete one first")
    created = row[0] if row else now
    con.execute(
        "INSERT INTO direction_examples(name, positive, negative, source, created, updated) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET positive = excluded.positive, "
        "negative = excluded.negative, source = excluded.source, updated = excluded.updated",
        (name, json.dumps(pos), json.dumps(neg), source, created, now),
    )
    return DirectionExamples(name, tuple(pos), tuple(neg), source, created, now)


def with_examples(
    current: DirectionExamples | None, item_ids: Sequence[str], positive: bool
) -> tuple[list[str], list[str]]:
    """The ``(positive, negative)`` id lists of ``current`` with ``item_ids`` added to one side
    and removed from the other (both empty when ``current`` is None)."""
    pos = list(current.positive_ids) if current else []
    neg = list(current.negative_ids) if current else []
    add_to, other = (pos, neg) if positive else (neg, pos)
    present, added = set(add_to), set(item_ids)
    add_to.extend(i for i in item_ids if i not in present)
    other[:] = [i for i in other if i not in added]
    return pos, neg


def add(con: Conn, name: str, ids: list[str], positive: bool, source: str) -> DirectionExamples:
    """Add ``ids`` to one side of ``name`` (removing them from the other), reading the current
    sets inside the caller's transaction so that concurrent adds all land."""
    current = next((d for d in _rows(con, "WHERE name = ?", (name,))), None)
    pos, neg = with_examples(current, ids, positive)
    check_sides(name, pos, neg)
    return write(con, name, pos, neg, source)


def read_all(con: Conn) -> list[DirectionExamples]:
    """Every saved example set, by name (ordered here: the backends collate text differently)."""
    return sorted(_rows(con, "", ()), key=lambda d: d.name)


def _rows(con: Conn, where: str, args: tuple[str, ...]) -> list[DirectionExamples]:
    rows = con.execute("SELECT name, positive, negative, source, created, updated FROM direction_examples "
                       + where, args).fetchall()
    return [DirectionExamples(n, tuple(json.loads(p)), tuple(json.loads(g)), s, c, u) for n, p, g, s, c, u in rows]


def version(con: Conn) -> tuple[str, int]:
    """``(generation, directions_version)`` of the file (read only)."""
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    if "generation" not in meta:  # no direction written since the triggers exist
        count, last = con.execute("SELECT COUNT(*), MAX(updated) FROM direction_examples").fetchone()
        return f"unversioned:{count}:{last}", 0
    return str(meta["generation"]), int(meta["directions_version"])
