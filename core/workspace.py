"""The workspace: one folder per catalog, described by ``manifest.json``.

Every artifact (``items``, ``features/<backbone>``, ``clusters/<run>``, ...) is a folder of
versions, ``<name>/v<N>/``. A version is written into a temporary folder, moved into place with
``os.replace`` and only then recorded in the manifest, which is itself replaced atomically under
a file lock. A reader follows the manifest, so it never sees half an artifact, and a crash
mid-write leaves the previous version readable.

Images and thumbnails are content-addressed (``images/<item_id>.jpg``) and immutable, so they
are written directly (each through a temporary file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import MissingArtifactError, WorkspaceError

SCHEMA_VERSION = 1
KEEP_VERSIONS = 2
_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9_.@-]*)?$")

# The command that builds each artifact kind, named in errors.
BUILD_COMMANDS = {
    "items": "python -m core ingest SOURCE --workspace {ws}",
    "features": "python -m core embed --workspace {ws} --backbone {run}",
    "clusters": "python -m core cluster --workspace {ws} --id {run}",
    "similarity": "python -m core similarity --workspace {ws} --id {run}",
    "projection": "python -m core project --workspace {ws} --id {run}",
    "serving": "python -m core serving --workspace {ws} --id {run}",
    "palette": "python -m core palette --workspace {ws}",
}


def build_command(name: str, root: Path | str) -> str:
    """The CLI command that (re)builds artifact ``name`` in workspace ``root``."""
    kind, _, run = name.partition("/")
    template = BUILD_COMMANDS.get(kind, "python -m core run --workspace {ws}")
    return template.format(ws=root, run=run or "default")


class Workspace:
    """A catalog's folder on disk.

    Parameters
    ----------
    root : path of the workspace folder; created when missing.
    create : when False, the folder must already hold a manifest.
    """

    def __init__(self, root: str | os.PathLike[str], *, create: bool = True) -> None:
        self.root = Path(root).expanduser().absolute()
        if self.root.exists() and not self.root.is_dir():
            raise WorkspaceError(f"workspace path {self.root} is a file, not a folder")
        if not create and not (self.root / "manifest.json").is_file():
            raise WorkspaceError(
                f"no workspace at {self.root} (no manifest.json); create one with "
                f"`python -m core ingest SOURCE --workspace {self.root}`"
            )
        if create:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as exc:
                raise WorkspaceError(f"cannot create workspace at {self.root}: {exc}") from None
            if not (self.root / "manifest.json").exists():
                self._write_manifest({"schema": SCHEMA_VERSION, "artifacts": {}})

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> Workspace:
        """Open an existing workspace; :class:`WorkspaceError` when there is none."""
        return cls(root, create=False)

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    # -- paths ---------------------------------------------------------------------------
    @property
    def annotations_path(self) -> Path:
        return self.root / "annotations.sqlite"

    def image_path(self, item_id: str) -> Path:
        """Normalised RGB JPEG copy of an item (long side at most 1024 px)."""
        return self.root / "images" / f"{item_id}.jpg"

    def thumb_path(self, item_id: str) -> Path:
        """Small JPEG preview of an item for the browser."""
        return self.root / "thumbs" / f"{item_id}.jpg"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    # -- manifest ------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        """The parsed manifest: ``{"schema": int, "artifacts": {name: record}}``."""
        path = self.root / "manifest.json"
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return {"schema": SCHEMA_VERSION, "artifacts": {}}
        except json.JSONDecodeError as exc:
            raise WorkspaceError(f"{path} is not valid JSON: {exc}") from None
        if data.get("schema") != SCHEMA_VERSION:
            raise WorkspaceError(
                f"{path} has schema {data.get('schema')!r}; this version reads schema {SCHEMA_VERSION}"
            )
        return data

    def record(self, name: str) -> dict[str, Any] | None:
        """The manifest record of artifact ``name``, or None."""
        rec = self.manifest()["artifacts"].get(name)
        return dict(rec) if rec is not None else None

    def version(self, name: str) -> int | None:
        rec = self.record(name)
        return None if rec is None else int(rec["version"])

    def has(self, name: str) -> bool:
        return self.record(name) is not None

    def names(self, prefix: str = "") -> list[str]:
        """Names of the artifacts present, sorted, optionally filtered by prefix."""
        return sorted(n for n in self.manifest()["artifacts"] if n.startswith(prefix))

    def artifact_dir(self, name: str) -> Path:
        """Folder of the current version of ``name``; :class:`MissingArtifactError` if absent."""
        rec = self.record(name)
        if rec is None:
            raise MissingArtifactError(
                f"workspace {self.root} has no {name!r}; build it with `{build_command(name, self.root)}`"
            )
        return self.root / rec["path"]

    def _write_manifest(self, data: dict[str, Any]) -> None:
        _atomic_write_text(self.root / "manifest.json", json.dumps(data, indent=2, sort_keys=True))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.root / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- writing artifacts ---------------------------------------------------------------
    @contextlib.contextmanager
    def write_artifact(
        self, name: str, config: dict[str, Any], parents: dict[str, int] | None = None
    ) -> Iterator[Path]:
        """Write a new version of artifact ``name``.

        Yields an empty temporary folder to fill. On a clean exit the folder becomes
        ``<name>/v<N>/`` and the manifest records it (config, parents, time); on an exception
        nothing changes.
        """
        if not _NAME_RE.match(name):
            raise WorkspaceError(f"invalid artifact name {name!r}")
        json.dumps(config)  # the config must be JSON-serialisable; fail before any work
        base = self.root / name
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=base))
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        with self._locked():
            manifest = self.manifest()
            previous = manifest["artifacts"].get(name)
            existing = [int(p.name[1:]) for p in base.glob("v*") if p.name[1:].isdigit()]
            version = max([0, *existing, int(previous["version"]) if previous else 0]) + 1
            final = base / f"v{version}"
            _fsync_tree(tmp)
            os.replace(tmp, final)
            manifest["artifacts"][name] = {
                "version": version,
                "path": str(final.relative_to(self.root)),
                "config": config,
                "parents": dict(parents or {}),
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            self._write_manifest(manifest)
            self._prune(base, keep_from=version - KEEP_VERSIONS + 1)

    @staticmethod
    def _prune(base: Path, keep_from: int) -> None:
        for old in base.glob("v*"):
            if old.name[1:].isdigit() and int(old.name[1:]) < keep_from:
                shutil.rmtree(old, ignore_errors=True)

    def remove_artifact(self, name: str) -> None:
        """Forget artifact ``name`` (its files go too)."""
        with self._locked():
            manifest = self.manifest()
            if manifest["artifacts"].pop(name, None) is not None:
                self._write_manifest(manifest)
        shutil.rmtree(self.root / name, ignore_errors=True)

    # -- items -----------------------------------------------------------------------------
    def items(self) -> pd.DataFrame:
        """The catalog: one row per item (columns in docs/CONTRACTS.md); empty if none."""
        if not self.has("items"):
            return pd.DataFrame(
                {c: pd.Series(dtype="object") for c in ("item_id", "source", "label", "dominant_colour")}
            )
        return pd.read_parquet(self.artifact_dir("items") / "items.parquet")

    def skipped(self) -> list[dict[str, str]]:
        """Files the last ingestions reported and skipped: ``[{source, reason}]``."""
        if not self.has("items"):
            return []
        path = self.artifact_dir("items") / "skipped.json"
        return json.loads(path.read_text()) if path.exists() else []


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
