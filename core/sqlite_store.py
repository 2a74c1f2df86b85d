"""The SQLite backend of :mod:`core.store`: short-lived connections in WAL mode to the
workspace's annotations database.

Every call opens its own connection, so several web workers and background jobs can share
the file. SQLite's failures (locked past the busy timeout, disk full, damaged file) become a
:class:`core.errors.StorageError` that says what happened, so a page shows a message instead
of a traceback.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from core.errors import StorageError
from core.store import Schema

__all__ = ["BUSY_TIMEOUT_S", "SQLiteStore", "connect", "storage_error", "transaction"]

BUSY_TIMEOUT_S = 10.0


def _use_wal(con: sqlite3.Connection, timeout_s: float) -> None:
    """Put the database in WAL mode (it stays so). Switching needs exclusive access and SQLite
    answers "database is locked" at once, without waiting, when another connection is opening
    the new file at the same moment (two web workers' first requests): retry until the timeout."""
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        try:
            if str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def storage_error(exc: sqlite3.Error, path: str | Path) -> StorageError:
    """The user-facing error for a failed SQLite call on the database at ``path``."""
    text = str(exc).lower()
    name = Path(path).name
    if "locked" in text or "busy" in text:
        return StorageError(f"the annotations database ({name}) is busy with another writer; "
                            "nothing was saved, try again in a moment")
    if "full" in text:
        return StorageError(f"the disk holding the annotations database ({name}) is full; nothing was saved")
    return StorageError(f"the annotations database ({name}) cannot be used: {exc}")


class SQLiteConn:
    """A :class:`core.store.Conn` over one ``sqlite3`` connection."""

    kind = "sqlite"

    def __init__(self, con: sqlite3.Connection) -> None:
        self.raw = con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.raw.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        before = self.raw.total_changes
        self.raw.executemany(sql, rows)
        return self.raw.total_changes - before


class SQLiteStore:
    """The annotations database as a SQLite file at ``path`` (a :class:`core.store.Store`)."""

    kind = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def connect(self, schema: Schema) -> AbstractContextManager[SQLiteConn]:
        return _wrapped(connect(self.path, schema))

    def transaction(self, schema: Schema) -> AbstractContextManager[SQLiteConn]:
        return _wrapped(transaction(self.path, schema))

    def exists(self) -> bool:
        return self.path.exists()

    def describe(self) -> str:
        return f"SQLite file {self.path.name}"

    def journal_mode(self) -> str:
        """The journal mode in use (``"wal"``)."""
        with connect(self.path, Schema("")) as con:
            return str(con.execute("PRAGMA journal_mode").fetchone()[0])


@contextmanager
def _wrapped(cm: AbstractContextManager[sqlite3.Connection]) -> Iterator[SQLiteConn]:
    with cm as con:
        yield SQLiteConn(con)


@contextmanager
def connect(path: str | Path, schema: str | Schema) -> Iterator[sqlite3.Connection]:
    """A connection to ``path`` (created with ``schema``, a script of ``CREATE ... IF NOT
    EXISTS``), in autocommit mode; closed on exit. SQLite errors raise StorageError."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    timeout = BUSY_TIMEOUT_S
    try:
        con = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from exc
    try:
        _use_wal(con, timeout)
        con.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        con.execute("PRAGMA synchronous=NORMAL")
        con.executescript(schema.script("sqlite") if isinstance(schema, Schema) else schema)
        yield con
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from exc
    finally:
        con.close()


@contextmanager
def transaction(path: str | Path, schema: str | Schema) -> Iterator[sqlite3.Connection]:
    """:func:`connect` inside ``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on any exception)."""
    with connect(path, schema) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            if con.in_transaction:  # SQLite has already rolled back after some errors (disk full)
                con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
