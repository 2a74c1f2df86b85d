"""The PostgreSQL backend of :mod:`core.store` (psycopg 3), used when ``DATABASE_URL`` is set.

A hosted dyno's disk is lost at every restart; a database add-on outlives it. Connections are
kept per thread and reused (a new TLS connection to a hosted database costs tens of ms); one
in use by an open transaction is never handed to a nested call. A schema's DDL runs once
per process, under an advisory lock, so two workers starting together do not race on it.

Each workspace (collection) has its own PostgreSQL schema, named from its folder
(``ws_demo``), so collections served from one database never see each other's rows.

Write transactions take one transaction-level advisory lock first: writers of the workspace
queue as they do on SQLite's ``BEGIN IMMEDIATE``, so a read inside the transaction sees every
earlier write (the concurrent ``add_direction_examples`` test runs on both backends).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from core.errors import StorageError
from core.store import Schema

__all__ = ["LOCK_TIMEOUT_S", "PgConn", "PostgresStore"]

LOCK_TIMEOUT_S = 10.0  # as SQLite's busy timeout: a writer waits this long for another
CONNECT_TIMEOUT_S = 10
_DDL_LOCK = 0x5354_4154_4C41  # "STATLA": the advisory lock DDL runs under
_KEEP_IDLE = 2  # idle connections kept per thread

_local = threading.local()
_ready: set[tuple[str, str, str]] = set()  # (url, schema, script) whose DDL ran in this process
_ready_lock = threading.Lock()


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is in requirements.txt
        raise StorageError("DATABASE_URL is set but psycopg is not installed: pip install -r requirements.txt") from exc
    return psycopg


def schema_name(workspace: str) -> str:
    """The PostgreSQL schema of a workspace folder name: ``ws_`` + its letters and digits
    (lower case, at most 40), + a short hash when that changed the name."""
    clean = re.sub(r"[^a-z0-9_]", "_", workspace.lower())[:40]
    if clean != workspace:
        clean += "_" + hashlib.sha256(workspace.encode()).hexdigest()[:8]
    return f"ws_{clean}"


def _lock_key(schema: str) -> int:
    """The writers' advisory lock of one schema (a signed 64-bit key)."""
    return int.from_bytes(hashlib.sha256(f"style-atlas:{schema}".encode()).digest()[:8], "big", signed=True)


def _pg_sql(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgConn:
    """A :class:`core.store.Conn` over one psycopg connection."""

    kind = "postgresql"

    def __init__(self, con: Any) -> None:
        self.raw = con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.raw.execute(_pg_sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        rows = [tuple(r) for r in rows]
        if not rows:
            return 0
        with self.raw.cursor() as cur:
            cur.executemany(_pg_sql(sql), rows)
            return max(int(cur.rowcount), 0)


class PostgresStore:
    """The annotations of workspace ``workspace`` (its folder name) in the PostgreSQL database
    at ``url``, in their own schema (a :class:`core.store.Store`)."""

    kind = "postgresql"

    def __init__(self, url: str, workspace: str = "default") -> None:
        self.url = url
        self.schema = schema_name(workspace)

    # -- connections ----------------------------------------------------------------------
    def _idle(self) -> list[Any]:
        pools: dict[tuple[int, str, str], list[Any]] = _local.__dict__.setdefault("pools", {})
        return pools.setdefault((os.getpid(), self.url, self.schema), [])  # never the parent process's

    @contextmanager
    def _raw(self) -> Iterator[Any]:
        psycopg = _psycopg()
        idle = self._idle()
        con = None
        while idle and con is None:
            candidate = idle.pop()
            if not candidate.closed and candidate.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                con = candidate
        try:
            if con is None:
                con = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
                with con.transaction():  # two workers' first connections must not race on it
                    con.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
                    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                con.execute(f'SET search_path TO "{self.schema}"')
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        ok = False
        try:
            yield con
            ok = True
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        finally:
            healthy = ok or (not con.closed and con.info.transaction_status == psycopg.pq.TransactionStatus.IDLE)
            if healthy and len(idle) < _KEEP_IDLE:
                idle.append(con)
            else:
                con.close()

    def _ensure(self, con: Any, schema: Schema) -> None:
        script = schema.script(self.kind)
        key = (self.url, self.schema, script)
        if key in _ready:
            return
        with _ready_lock:
            if key in _ready:
                return
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
                con.execute(script)
            _ready.add(key)

    @contextmanager
    def connect(self, schema: Schema) -> Iterator[PgConn]:
        """A connection in autocommit mode (each statement its own transaction)."""
        with self._raw() as con:
            self._ensure(con, schema)
            yield PgConn(con)

    @contextmanager
    def transaction(self, schema: Schema) -> Iterator[PgConn]:
        """A write transaction, after every earlier writer's (rolled back on any exception)."""
        with self._raw() as con:
            self._ensure(con, schema)
            with con.transaction():
                con.execute(f"SET LOCAL lock_timeout = '{int(LOCK_TIMEOUT_S * 1000)}ms'")
                con.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(self.schema),))
                yield PgConn(con)

    def exists(self) -> bool:
        return True

    def describe(self) -> str:
        from psycopg.conninfo import conninfo_to_dict

        try:
            info = conninfo_to_dict(self.url)
        except Exception:  # noqa: BLE001 - a malformed URL is reported when connecting
            return "PostgreSQL database"
        return f"PostgreSQL database {info.get('dbname', '')!s} on {info.get('host', 'localhost')!s}, {self.schema}"

    def journal_mode(self) -> str:
        """PostgreSQL always writes ahead: ``"wal"``."""
        return "wal"

    def _error(self, exc: Exception) -> StorageError:
        """The user-facing error for a failed call (no URL, password or server address in it)."""
        psycopg = _psycopg()
        errors = psycopg.errors
        where = self.describe()
        if isinstance(exc, errors.LockNotAvailable | errors.QueryCanceled):
            return StorageError(f"the annotations database ({where}) is busy with another writer; "
                                "nothing was saved, try again in a moment")
        if isinstance(exc, errors.DiskFull):
            return StorageError(f"the annotations database ({where}) is full; nothing was saved")
        if isinstance(exc, psycopg.OperationalError):
            return StorageError(f"the annotations database ({where}) cannot be reached; nothing was saved, "
                                "try again in a moment")
        return StorageError(f"the annotations database ({where}) cannot be used: {type(exc).__name__}")
