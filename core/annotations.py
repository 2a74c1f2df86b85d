"""What people create in the app: tags, cluster names and direction example sets.

Stored in the workspace's ``annotations.sqlite`` (SQLite in WAL mode), or in PostgreSQL when
``DATABASE_URL`` is set (:mod:`core.store`), never inside the recomputable artifacts, so
re-running the pipeline loses none of it. Every call takes its own short-lived connection, so
several web workers and background jobs share the database.

Cluster names follow their clusters across pipeline re-runs: a name is saved together with
the member item ids the cluster had when it was named, and :meth:`Annotations.cluster_names`
matches the clusters of the current run to the saved member sets by overlap (Jaccard), so a
cluster that comes back under another id keeps its name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

from core import direction_store
from core.direction_store import MAX_DIRECTIONS, MAX_EXAMPLES_PER_SIDE, DirectionExamples, with_examples
from core.errors import InvalidInputError
from core.store import Conn, Schema, Store, open_store

__all__ = ["Annotations", "DirectionExamples", "MAX_DIRECTIONS", "MAX_EXAMPLES_PER_SIDE", "match_by_overlap",
           "with_examples"]

MAX_TAG_LEN = 64
MAX_NAME_LEN = 80
DEFAULT_MIN_OVERLAP = 0.3

_SCHEMA = direction_store.SCHEMA + Schema(common="""
CREATE TABLE IF NOT EXISTS tags (
    item_id TEXT NOT NULL,
    tag     TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (item_id, tag)
);
CREATE INDEX IF NOT EXISTS tags_by_tag ON tags(tag);
CREATE TABLE IF NOT EXISTS cluster_names (
    run_id  TEXT NOT NULL,
    key     TEXT NOT NULL,
    name    TEXT NOT NULL,
    members TEXT,            -- JSON list of item ids when named, or NULL
    updated TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
""", postgresql="""
ALTER TABLE tags ADD COLUMN IF NOT EXISTS rowid BIGSERIAL;  -- SQLite's implicit insertion order
""")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _clean_text(value: str, what: str, max_len: int) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text, got {type(value).__name__}")
    text = " ".join(value.split())
    if not text:
        raise InvalidInputError(f"{what} must not be empty")
    if len(text) > max_len:
        raise InvalidInputError(f"{what} is {len(text)} characters long; the limit is {max_len}")
    return text


def _clean_ids(ids: Iterable[str], what: str) -> list[str]:
    if isinstance(ids, str):
        raise InvalidInputError(f"{what} must be a list of item ids, not one string")
    out: list[str] = []
    seen: set[str] = set()
    for i in ids:
        if not isinstance(i, str) or not i:
            raise InvalidInputError(f"{what} holds an invalid item id: {i!r}")
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def match_by_overlap(
    saved: Mapping[str, set[str]],
    current: Mapping[str, set[str]],
    min_overlap: float = DEFAULT_MIN_OVERLAP,
) -> dict[str, str]:
    """Match saved member sets to current clusters, one to one, by Jaccard overlap.

    Greedy on the overlap matrix, best pair first (ties broken by key), which is exact for
    the usual case of clusters that moved ids but kept most members.

    Parameters
    ----------
    saved : mapping of saved key -> member ids
    current : mapping of current cluster key -> member ids
    min_overlap : float
        Pairs with Jaccard below this are never matched.

    Returns
    -------
    dict
        ``{saved_key: current_key}`` for every matched pair.
    """
    pairs: list[tuple[float, str, str]] = []
    for s_key, s_members in saved.items():
        for c_key, c_members in current.items():
            j = _jaccard(s_members, c_members)
            if j >= min_overlap and j > 0:
                pairs.append((j, s_key, c_key))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    used_s: set[str] = set()
    used_c: set[str] = set()
    out: dict[str, str] = {}
    for _, s_key, c_key in pairs:
        if s_key in used_s or c_key in used_c:
            continue
        used_s.add(s_key)
        used_c.add(c_key)
        out[s_key] = c_key
    return out


class Annotations:
    """Repository over the workspace's annotations store.

    Parameters
    ----------
    path : str, Path or Store
        The SQLite file (usually ``ws.annotations_path``; created with its tables on first
        use), which PostgreSQL replaces when ``DATABASE_URL`` is set (:func:`core.store.open_store`);
        or a store.
    """

    def __init__(self, path: str | Path | Store) -> None:
        self.store = open_store(path)
        self.path = Path(path) if isinstance(path, str | Path) else None

    # -- plumbing -----------------------------------------------------------------------
    def _connect(self) -> AbstractContextManager[Conn]:
        return self.store.connect(_SCHEMA)

    def _transaction(self) -> AbstractContextManager[Conn]:
        return self.store.transaction(_SCHEMA)

    def exists(self) -> bool:
        """Whether anything may have been saved (reading a SQLite file that does not exist would create it)."""
        return self.store.exists()

    def journal_mode(self) -> str:
        """The journal mode in use (``"wal"``)."""
        return self.store.journal_mode()

    # -- tags ---------------------------------------------------------------------------
    def add_tag(self, item_ids: Iterable[str], tag: str) -> int:
        """Tag items; returns how many (item, tag) pairs were new."""
        tag = _clean_text(tag, "tag", MAX_TAG_LEN)
        ids = _clean_ids(item_ids, "item_ids")
        if not ids:
            raise InvalidInputError("select at least one item to tag")
        now = _now()
        with self._transaction() as con:
            return con.executemany("INSERT INTO tags(item_id, tag, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                                   [(i, tag, now) for i in ids])

    def remove_tag(self, item_ids: Iterable[str], tag: str) -> int:
        """Remove a tag from items; returns how many pairs were removed."""
        ids = _clean_ids(item_ids, "item_ids")
        with self._transaction() as con:
            return con.executemany("DELETE FROM tags WHERE item_id = ? AND tag = ?", [(i, tag) for i in ids])

    def tags_for(self, item_id: str) -> list[str]:
        """Tags of one item, alphabetical."""
        with self._connect() as con:
            rows = con.execute("SELECT tag FROM tags WHERE item_id = ?", (item_id,)).fetchall()
        return sorted(r[0] for r in rows)

    def items_with_tag(self, tag: str) -> list[str]:
        """Item ids carrying ``tag``, in the order they were tagged."""
        with self._connect() as con:
            rows = con.execute("SELECT item_id FROM tags WHERE tag = ? ORDER BY created, rowid", (tag,)).fetchall()
        return [r[0] for r in rows]

    def all_tags(self) -> dict[str, int]:
        """Every tag with its item count, most used first."""
        with self._connect() as con:
            rows = con.execute("SELECT tag, COUNT(*) FROM tags GROUP BY tag").fetchall()
        return {r[0]: int(r[1]) for r in sorted(rows, key=lambda r: (-int(r[1]), r[0]))}

    def tags_by_item(self) -> dict[str, list[str]]:
        """``{item id: its tags, alphabetical}`` of every tagged item."""
        with self._connect() as con:
            rows = con.execute("SELECT item_id, tag FROM tags").fetchall()
        out: dict[str, list[str]] = {}
        for item_id, tag in sorted(rows):  # text order taken here: the backends collate differently
            out.setdefault(item_id, []).append(tag)
        return out

    # -- cluster names ------------------------------------------------------------------
    def set_cluster_name(
        self,
        run_id: str,
        key: str | int,
        name: str,
        members: Iterable[str] | None = None,
        min_overlap: float = DEFAULT_MIN_OVERLAP,
    ) -> None:
        """Name a cluster of a clustering run.

        Parameters
        ----------
        run_id : str
            The clustering run (``clusters/<run_id>``).
        key : str or int
            The cluster id in the current run.
        name : str
            The stylist's name; an empty or blank name removes the saved name.
        members : iterable of str, optional
            The cluster's current member ids. Saved so the name follows the cluster when the
            pipeline re-runs and ids change. Saved names of the same run whose members
            overlap these by at least ``min_overlap`` are replaced (they named the same
            cluster in an earlier run).
        """
        run_id = _clean_text(run_id, "run_id", MAX_NAME_LEN)
        key = str(key)
        member_list = _clean_ids(members, "members") if members is not None else None
        text = " ".join(name.split()) if isinstance(name, str) else name
        with self._transaction() as con:
            if member_list is not None:
                mine = set(member_list)
                rows = con.execute(
                    "SELECT key, members FROM cluster_names WHERE run_id = ? AND members IS NOT NULL",
                    (run_id,),
                ).fetchall()
                for other_key, other_members in rows:
                    if other_key != key and _jaccard(mine, set(json.loads(other_members))) >= min_overlap:
                        con.execute("DELETE FROM cluster_names WHERE run_id = ? AND key = ?", (run_id, other_key))
            if not text:
                con.execute("DELETE FROM cluster_names WHERE run_id = ? AND key = ?", (run_id, key))
                return
            text = _clean_text(text, "cluster name", MAX_NAME_LEN)
            con.execute(
                "INSERT INTO cluster_names(run_id, key, name, members, updated) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(run_id, key) DO UPDATE SET name = excluded.name, "
                "members = excluded.members, updated = excluded.updated",
                (run_id, key, text, json.dumps(member_list) if member_list is not None else None, _now()),
            )

    def cluster_names(
        self,
        run_id: str,
        clusters: Mapping[str, Iterable[str]] | Mapping[int, Iterable[str]] | None = None,
        min_overlap: float = DEFAULT_MIN_OVERLAP,
    ) -> dict[str, str]:
        """Saved names of a run's clusters, ``{cluster key (str): name}``.

        Without ``clusters``, the names as saved, by the key they were saved under. With
        ``clusters`` (the current run: cluster key -> member ids), names saved with members
        are matched to the current clusters by member overlap, so they follow clusters whose
        ids changed; names saved without members keep their key when that key still exists.
        """
        with self._connect() as con:
            rows = con.execute(
                "SELECT key, name, members FROM cluster_names WHERE run_id = ? ORDER BY updated DESC",
                (run_id,),
            ).fetchall()
        if clusters is None:
            return {k: n for k, n, _ in rows}
        current = {str(k): set(v) for k, v in clusters.items()}
        saved_members = {k: set(json.loads(m)) for k, _, m in rows if m is not None}
        names = {k: n for k, n, _ in rows}
        matched = match_by_overlap(saved_members, current, min_overlap)
        out: dict[str, str] = {}
        for s_key, c_key in matched.items():
            out[c_key] = names[s_key]
        for k, n, m in rows:
            if m is None and k in current and k not in out:
                out[k] = n
        return out

    def display_names(self, run_id: str, auto_names: Mapping[int, str],
                      members: Mapping[int, Iterable[str]]) -> dict[int, str]:
        """``{cluster: name}`` of a run: the stylist's name where one was given (matched to the
        current ``members`` by overlap), else the automatic one of ``auto_names``."""
        names = {int(c): str(n) for c, n in auto_names.items()}
        for key, name in self.cluster_names(run_id, members).items():
            if int(key) in names:
                names[int(key)] = name
        return names

    # -- direction example sets ------------------------------------------------------------
    def save_direction_examples(
        self,
        name: str,
        positive_ids: Iterable[str],
        negative_ids: Iterable[str],
        source: str = "dashboard",
    ) -> DirectionExamples:
        """Save (or replace) the example sets of a named direction.

        Counts are not checked against the builder's minimum here, but a set may not be empty,
        an item may not be on both sides, a side holds at most ``MAX_EXAMPLES_PER_SIDE`` ids and
        a file at most ``MAX_DIRECTIONS`` directions.
        """
        name = _clean_text(name, "direction name", MAX_NAME_LEN)
        pos = _clean_ids(positive_ids, "positive_ids")
        neg = _clean_ids(negative_ids, "negative_ids")
        source = _clean_text(source, "source", 200)
        direction_store.check_sides(name, pos, neg)
        with self._transaction() as con:
            return direction_store.write(con, name, pos, neg, source)

    def add_direction_examples(
        self, name: str, item_ids: Sequence[str], positive: bool, source: str = "dashboard"
    ) -> DirectionExamples:
        """Add items to one side of a direction's examples (created if new).

        Items added to one side are removed from the other. The current sets are read in the
        writing transaction, so concurrent adds all land.
        """
        name = _clean_text(name, "direction name", MAX_NAME_LEN)
        ids = _clean_ids(item_ids, "item_ids")
        source = _clean_text(source, "source", 200)
        if not ids:
            raise InvalidInputError("select at least one item")
        direction_store.check_sides(name, ids if positive else [], [] if positive else ids)
        with self._transaction() as con:
            return direction_store.add(con, name, ids, positive, source)

    def directions_version(self) -> tuple[str, int]:
        """``(generation of this file, version of its direction example sets)``: changes with every
        write of a direction, in the same transaction (a cache key for directions built from them)."""
        with self._connect() as con:
            return direction_store.version(con)

    def direction_examples(self) -> list[DirectionExamples]:
        """Every saved example set, by name."""
        with self._connect() as con:
            return direction_store.read_all(con)

    def delete_direction(self, name: str) -> bool:
        """Delete a direction's example sets; returns whether it existed."""
        with self._transaction() as con:
            cur = con.execute("DELETE FROM direction_examples WHERE name = ?", (name,))
            return cur.rowcount > 0
