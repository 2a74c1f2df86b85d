"""Shared fixtures: small real catalogs and workspaces built once per test session."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import pipeline
from core.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))
DEMO = REPO / "data" / "demo"


def demo_rows() -> list[dict[str, str]]:
    with open(DEMO / "catalog.csv") as fh:
        return list(csv.DictReader(fh))


def write_subset_csv(path: Path, per_class: int, unlabelled: int = 4, classes: set[str] | None = None) -> Path:
    """A catalog CSV of the first ``per_class`` demo photos of each label, or of ``classes``
    only (absolute paths)."""
    counts: dict[str, int] = {}
    rows = []
    for row in demo_rows():
        if classes is not None and row["label"] not in classes:
            continue
        cap = unlabelled if row["label"] == "" else per_class
        if counts.get(row["label"], 0) < cap:
            counts[row["label"]] = counts.get(row["label"], 0) + 1
            rows.append({**row, "path": str(DEMO / row["path"])})
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(autouse=True)
def _own_job_table(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own job table (core.jobs), never the repository's ``workspaces/jobs.sqlite``."""
    db = tmp_path_factory.mktemp("jobs") / "jobs.sqlite"
    monkeypatch.setenv("STYLE_ATLAS_JOBS_DB", str(db))
    return db


@pytest.fixture(scope="session")
def demo_subset_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~110 real demo photos: 6 of each of the 18 labelled classes and 4 unlabelled."""
    return write_subset_csv(tmp_path_factory.mktemp("subset") / "catalog.csv", per_class=6)


@pytest.fixture(scope="session")
def small_workspace(tmp_path_factory: pytest.TempPathFactory, demo_subset_csv: Path) -> Workspace:
    """A workspace of the demo subset through every pipeline step, real lite0 features included.

    Built once per session; tests must treat it as read-only (copy it to change it)."""
    ws = Workspace(tmp_path_factory.mktemp("ws") / "small")
    pipeline.run(ws, demo_subset_csv)
    return ws


def make_image(path: Path, size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (200, 30, 30),
               mode: str = "RGB", fmt: str | None = None) -> Path:
    """Write a small synthetic picture (with a gradient so different colours differ in content)."""
    arr = np.zeros((size[1], size[0], 3), np.uint8)
    arr[:] = colour
    arr[:, :, 1] = np.linspace(0, 255, size[0], dtype=np.uint8)[None, :]
    image = Image.fromarray(arr, "RGB")
    if mode != "RGB":
        image = image.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt)
    return path


@pytest.fixture
def one_torch_thread():
    """Tiny nets run faster on one thread than fighting for shared cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def png_bomb(width: int = 6300, height: int = 6300) -> bytes:
    """A valid black RGB PNG of ``width`` x ``height`` pixels made without holding its pixels
    (6300 x 6300 is about 165 KiB of file for 119 MB of decoded pixels)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    comp = zlib.compressobj(9)
    row = bytes(1 + 3 * width)  # filter byte 0, then black pixels
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# -- the annotations store on both backends -------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_server():
    """A real throwaway PostgreSQL server for the session (tests/postgres.py). Skipped only where
    the binaries are missing and this is not CI (CI installs them: scripts/install_system_deps.sh)."""
    from tests.postgres import PostgresServer, binaries

    if binaries() is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) are not installed: apt-get install postgresql"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    server = PostgresServer.start()
    yield server
    server.stop()


class Backend:
    """The annotations store a test runs on: ``kind`` "sqlite" (a file in ``tmp``) or
    "postgresql" (a fresh database, selected the way a deployment selects it: ``DATABASE_URL``)."""

    def __init__(self, kind: str, tmp: Path, monkeypatch: pytest.MonkeyPatch, server=None) -> None:
        self.kind, self.tmp, self.monkeypatch, self.server = kind, tmp, monkeypatch, server
        self.path = tmp / "annotations.sqlite"
        if server is not None:
            monkeypatch.setenv("DATABASE_URL", server.new_database())

    def fresh(self) -> Path:
        """Another, empty database (another SQLite file, or another PostgreSQL database)."""
        if self.server is not None:
            self.monkeypatch.setenv("DATABASE_URL", self.server.new_database())
        self.path = self.tmp / f"other-{len(list(self.tmp.glob('other-*')))}.sqlite"
        return self.path

    def query(self, sql: str) -> list[tuple]:
        """Run ``sql`` on the current database past the product's code (another writer); its rows."""
        if self.server is None:
            import sqlite3

            with sqlite3.connect(self.path) as con:
                return con.execute(sql).fetchall()
        import psycopg

        from core.pg_store import schema_name

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as con:
            con.execute(f'SET search_path TO "{schema_name(self.path.absolute().parent.name)}"')
            cur = con.execute(sql)
            return cur.fetchall() if cur.description else []


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    """Each annotations test once per backend (``DATABASE_URL`` unset for SQLite)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    return Backend(request.param, tmp_path, monkeypatch, server)
