"""The one store of what people create (tags, cluster names, directions, visitors' scratch):
SQLite in the workspace by default, PostgreSQL when ``DATABASE_URL`` is set.

Every repository (:class:`core.annotations.Annotations`, :class:`core.scratch.ScratchSpace`)
opens its store with :func:`open_store` and writes portable SQL through a :class:`Conn`:
``?`` placeholders, ``INSERT ... ON CONFLICT``, no ``INSERT OR IGNORE``; text order is taken
in Python (the two databases collate differently). A :class:`Schema` holds the DDL both
backends share plus what each needs apart (triggers, the ``rowid`` column PostgreSQL lacks).

Both backends give the same guarantees: reads in autocommit; :meth:`Store.transaction` is a
write transaction serialised against every other writer of the database (SQLite
``BEGIN IMMEDIATE``; PostgreSQL a transaction-level advisory lock), so a read-modify-write
inside it loses no concurrent write; failures become a :class:`core.errors.StorageError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core.errors import ConfigurationError

__all__ = ["DATABASE_URL_ENV", "Conn", "Cursor", "Schema", "Store", "database_url", "open_store"]

DATABASE_URL_ENV = "DATABASE_URL"
_PG_SCHEMES = ("postgres://", "postgresql://")


@dataclass(frozen=True)
class Schema:
    """DDL of one repository: ``common`` (``CREATE ... IF NOT EXISTS`` both backends run) then
    the backend's own ``sqlite`` or ``postgresql`` script."""

    common: str
    sqlite: str = ""
    postgresql: str = ""

    def __add__(self, other: Schema) -> Schema:
        return Schema(self.common + other.common, self.sqlite + other.sqlite, self.postgresql + other.postgresql)

    def script(self, kind: str) -> str:
        """The whole script for backend ``kind`` (``"sqlite"`` or ``"postgresql"``)."""
        return self.common + (self.sqlite if kind == "sqlite" else self.postgresql)


class Cursor(Protocol):
    """What :meth:`Conn.execute` returns (a DB-API cursor)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Conn(Protocol):
    """A connection of either backend, with ``?`` placeholders."""

    @property
    def kind(self) -> str: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run ``sql`` once per row; the number of rows changed in all."""
        ...


class Store(Protocol):
    """One database: ``connect()`` for reads, ``transaction()`` for writes (both closed on exit)."""

    @property
    def kind(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        ...

    def connect(self, schema: Schema) -> AbstractContextManager[Conn]: ...

    def transaction(self, schema: Schema) -> AbstractContextManager[Conn]: ...

    def exists(self) -> bool:
        """Whether the database may hold anything (a SQLite file not yet written does not)."""
        ...

    def describe(self) -> str:
        """Where it is, for messages (never a password)."""
        ...

    def journal_mode(self) -> str:
        """``"wal"`` (SQLite's mode the store sets; PostgreSQL always writes ahead)."""
        ...


def database_url() -> str | None:
    """``$DATABASE_URL`` when set to a PostgreSQL URL; None when unset or empty;
    ConfigurationError for another scheme."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if not url:
        return None
    if not url.startswith(_PG_SCHEMES):
        scheme = url.split(":", 1)[0]
        raise ConfigurationError(f"{DATABASE_URL_ENV} must be a postgresql:// (or postgres://) URL; got {scheme}:")
    return url


def open_store(path: str | Path | Store) -> Store:
    """The store for a workspace's annotations database at ``path``: PostgreSQL when
    ``DATABASE_URL`` is set (a schema per workspace, named from its folder: collections
    share the database, never rows), else the SQLite file. A store passed in is returned as it is."""
    if not isinstance(path, str | Path):
        return path
    url = database_url()
    if url is not None:
        from core.pg_store import PostgresStore

        return PostgresStore(url, Path(path).absolute().parent.name)
    from core.sqlite_store import SQLiteStore

    return SQLiteStore(path)
