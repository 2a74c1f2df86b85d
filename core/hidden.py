"""Hidden items: near-duplicates a stylist put away behind the copy they keep.

A reversible annotation in ``annotations.sqlite`` (table ``hidden_items``): nothing is deleted,
the pipeline's artifacts still row every item, and the galleries, search results and the map
leave hidden items out (:func:`hidden_ids`). Unhiding a keeper's group brings all of it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from core.errors import InvalidInputError
from core.store import Schema, Store, open_store

__all__ = ["MAX_HIDE", "SCHEMA", "fingerprint", "hidden_by_keeper", "hidden_ids", "hide_duplicates", "unhide"]

MAX_HIDE = 500  # items one call may hide (a duplicate group is a handful)

SCHEMA = Schema(common="""
CREATE TABLE IF NOT EXISTS hidden_items (
    item_id TEXT PRIMARY KEY,
    keeper  TEXT NOT NULL,   -- the copy kept in view
    reason  TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS hidden_by_keeper ON hidden_items(keeper);
""")


def _ids(values: Iterable[str], what: str) -> list[str]:
    if isinstance(values, str):
        raise InvalidInputError(f"{what} must be a list of item ids, not one string")
    out = list(dict.fromkeys(values))
    if any(not isinstance(i, str) or not i for i in out):
        raise InvalidInputError(f"{what} holds an invalid item id")
    return out


def hide_duplicates(path: str | Path | Store, keeper: str, duplicates: Iterable[str], reason: str = "duplicate") -> int:
    """Keep ``keeper`` in view and hide ``duplicates`` (the keeper itself is never hidden; an item
    hidden before moves to this keeper). Items hidden behind one of ``duplicates`` move to the
    keeper too, so no chain leaves everything hidden. Returns how many items are hidden now
    behind ``keeper``."""
    if not isinstance(keeper, str) or not keeper:
        raise InvalidInputError("choose the item to keep")
    hide = [i for i in _ids(duplicates, "duplicates") if i != keeper]
    if not hide:
        raise InvalidInputError("choose at least one duplicate to hide besides the keeper")
    if len(hide) > MAX_HIDE:
        raise InvalidInputError(f"{len(hide)} items at once; at most {MAX_HIDE} may be hidden in one go")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with open_store(path).transaction(SCHEMA) as con:
        con.execute("DELETE FROM hidden_items WHERE item_id = ?", (keeper,))
        con.executemany("UPDATE hidden_items SET keeper = ? WHERE keeper = ?", [(keeper, i) for i in hide])
        con.executemany(
            "INSERT INTO hidden_items(item_id, keeper, reason, created) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(item_id) DO UPDATE SET keeper = excluded.keeper, reason = excluded.reason",
            [(i, keeper, reason[:200], now) for i in hide],
        )
        return int(con.execute("SELECT COUNT(*) FROM hidden_items WHERE keeper = ?", (keeper,)).fetchone()[0])


def unhide(path: str | Path | Store, item_ids: Iterable[str]) -> int:
    """Bring items back into view; an id that is a keeper brings back its whole group. Returns
    how many items came back."""
    ids = _ids(item_ids, "item_ids")
    if len(ids) > MAX_HIDE:
        raise InvalidInputError(f"{len(ids)} items at once; at most {MAX_HIDE}")
    with open_store(path).transaction(SCHEMA) as con:
        return con.executemany("DELETE FROM hidden_items WHERE item_id = ? OR keeper = ?", [(i, i) for i in ids])


def hidden_ids(path: str | Path | Store) -> frozenset[str]:
    """Every hidden item id (empty when the database does not exist yet)."""
    store = open_store(path)
    if not store.exists():
        return frozenset()
    with store.connect(SCHEMA) as con:
        return frozenset(r[0] for r in con.execute("SELECT item_id FROM hidden_items"))


def hidden_by_keeper(path: str | Path | Store) -> dict[str, list[str]]:
    """``{keeper: [hidden item ids]}``, keepers in the order they were first used."""
    store = open_store(path)
    if not store.exists():
        return {}
    with store.connect(SCHEMA) as con:
        rows = con.execute("SELECT keeper, item_id, created FROM hidden_items").fetchall()
    rows = sorted(rows, key=lambda r: (r[2], r[0], r[1]))  # text order in Python: the backends collate apart
    out: dict[str, list[str]] = {}
    for keeper, item, _created in rows:
        out.setdefault(keeper, []).append(item)
    return out


def fingerprint(path: str | Path | Store) -> str:
    """A short digest of the hidden set: changes whenever an item is hidden or brought back (a
    cache key for views that leave hidden items out)."""
    import hashlib

    ids = sorted(hidden_ids(path))
    return hashlib.sha1("\n".join(ids).encode()).hexdigest()[:16] if ids else ""
