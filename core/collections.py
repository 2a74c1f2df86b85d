"""Collections: the workspaces one server (or the CLI) serves, each a folder it owns.

A collection lives in ``<home>/<slug>/`` where ``home`` is ``STYLE_ATLAS_HOME`` (default
``workspaces/`` in the repository) and ``slug`` is derived from the name the person gave and
validated here; nothing from a request is ever used as a path, only looked up as a slug. Its
name and description are in ``<slug>/collection.json`` beside the workspace's manifest (a
folder without one, such as ``workspaces/demo``, is named after its slug). Renaming keeps the
slug, so shared links keep working.

``STYLE_ATLAS_WORKSPACE`` set: that one workspace is the only collection (the setting of
earlier versions); creating, renaming and deleting are then refused.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import time
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import BusyError, InvalidInputError, WorkspaceError
from core.workspace import Workspace, _atomic_write_text

HOME_ENV = "STYLE_ATLAS_HOME"
WORKSPACE_ENV = "STYLE_ATLAS_WORKSPACE"
DEFAULT_HOME = Path(__file__).resolve().parent.parent / "workspaces"
DEMO_SLUG = "demo"
META_FILE = "collection.json"
STAGING_DIR = "staging"  # imports staged under the collection (core.importer)
MAX_NAME_LEN = 100
MAX_DESCRIPTION_LEN = 2000
MAX_SLUG_LEN = 60
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
ACTIVE_JOB_STATES = ("queued", "running")
CANCEL_WAIT_S = 15.0  # how long delete waits for a cancelled job to stop


@dataclass(frozen=True)
class Collection:
    """One collection: its slug (the URL's ``?c=``), display name, description and folder."""

    slug: str
    name: str
    description: str
    root: Path
    created: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"slug": self.slug, "name": self.name, "description": self.description,
                "root": str(self.root), "created": self.created}


# -- settings ------------------------------------------------------------------------------
def home() -> Path:
    """The folder of collections: ``STYLE_ATLAS_HOME`` or ``workspaces/`` (read on every call)."""
    env = os.environ.get(HOME_ENV, "").strip()
    return Path(env).expanduser().absolute() if env else DEFAULT_HOME


def single_workspace() -> Path | None:
    """The one workspace ``STYLE_ATLAS_WORKSPACE`` names, or None (collections under home)."""
    env = os.environ.get(WORKSPACE_ENV, "").strip()
    return Path(env).expanduser().absolute() if env else None


def demo_root() -> Path:
    """The folder of the demo collection, the one the first start builds: ``<home>/demo``
    (``workspaces/demo`` by default)."""
    return home() / DEMO_SLUG


def _refuse_in_single_mode(action: str) -> None:
    if single_workspace() is not None:
        raise InvalidInputError(f"cannot {action}: the app serves the one workspace {WORKSPACE_ENV} names; "
                                f"unset {WORKSPACE_ENV} to keep several collections in {HOME_ENV}")


# -- names and slugs -----------------------------------------------------------------------
def validate_name(name: object) -> str:
    """The collection name, stripped; :class:`InvalidInputError` naming what is wrong with it
    (empty, over 100 characters, a ``/`` or ``\\``, ``..``, control characters, no letter or digit)."""
    if not isinstance(name, str):
        raise InvalidInputError("a collection name must be text")
    clean = name.strip()
    if not clean:
        raise InvalidInputError("a collection needs a name")
    if len(clean) > MAX_NAME_LEN:
        raise InvalidInputError(f"collection name is {len(clean)} characters long; at most {MAX_NAME_LEN}")
    if "/" in clean or "\\" in clean:
        raise InvalidInputError("a collection name cannot contain '/' or '\\'")
    if ".." in clean:
        raise InvalidInputError("a collection name cannot contain '..'")
    if any(unicodedata.category(ch).startswith("C") for ch in clean):
        raise InvalidInputError("a collection name cannot contain control characters")
    if not slugify(clean):
        raise InvalidInputError("a collection name needs at least one letter or digit (a-z, 0-9)")
    return clean


def slugify(name: str) -> str:
    """``"Summer '25 Looks"`` → ``"summer-25-looks"``: ASCII letters and digits, single dashes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:MAX_SLUG_LEN].rstrip("-")


def check_slug(slug: object) -> str:
    """A slug as it came from a URL or a command line, checked (never used as a path otherwise)."""
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        shown = slug[:40] if isinstance(slug, str) else type(slug).__name__
        raise InvalidInputError(f"{shown!r} is not a collection id (lowercase letters, digits and '-')")
    return slug


def validate_description(text: object) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise InvalidInputError("a description must be text")
    if len(text) > MAX_DESCRIPTION_LEN:
        raise InvalidInputError(f"description is {len(text)} characters long; at most {MAX_DESCRIPTION_LEN}")
    return text.strip()


# -- reading -------------------------------------------------------------------------------
def _read_meta(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / META_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _from_folder(root: Path, slug: str) -> Collection:
    meta = _read_meta(root)
    return Collection(slug=slug, name=str(meta.get("name") or slug), description=str(meta.get("description") or ""),
                      root=root, created=str(meta.get("created") or ""))


def _is_collection(folder: Path) -> bool:
    return folder.is_dir() and ((folder / "manifest.json").is_file() or (folder / META_FILE).is_file())


def list_collections() -> list[Collection]:
    """Every collection, sorted by name (the single workspace alone when ``STYLE_ATLAS_WORKSPACE`` is set)."""
    single = single_workspace()
    if single is not None:
        return [_from_folder(single, slugify(single.name) or DEMO_SLUG)]
    base = home()
    if not base.is_dir():
        return []
    found = [_from_folder(p, p.name) for p in base.iterdir() if SLUG_RE.match(p.name) and _is_collection(p)]
    return sorted(found, key=lambda c: (c.name.lower(), c.slug))


def default_slug() -> str | None:
    """The collection shown when the URL names none: the demo, else the first one."""
    found = list_collections()
    if not found:
        return None
    return next((c.slug for c in found if c.slug == DEMO_SLUG), found[0].slug)


def get(slug: str) -> Collection:
    """The collection of ``slug``; :class:`InvalidInputError` when there is none."""
    single = single_workspace()
    if single is not None:
        only = list_collections()[0]
        if slug in (only.slug, None, ""):
            return only
        raise InvalidInputError(f"no collection {slug!r}: this server serves only {only.slug!r}")
    check_slug(slug)
    root = home() / slug
    if not _is_collection(root):
        raise InvalidInputError(f"no collection {slug!r}")
    return _from_folder(root, slug)


def folder_for(slug: str | None) -> Path:
    """The folder the server shows for ``slug`` (None: the default collection), whether or not
    it holds a workspace yet. A slug that is malformed gives :class:`InvalidInputError`."""
    single = single_workspace()
    if single is not None:
        return single
    if slug is None:
        slug = default_slug() or DEMO_SLUG
    return home() / check_slug(slug)


def find(name_or_slug: str) -> Collection:
    """A collection by its slug or its (case-insensitive) name, for the command line."""
    wanted = name_or_slug.strip()
    for c in list_collections():
        if c.slug == wanted or c.name.lower() == wanted.lower():
            return c
    raise InvalidInputError(f"no collection {wanted[:100]!r} (python -m core collections lists them)")


# -- writing -------------------------------------------------------------------------------
def _write_meta(root: Path, name: str, description: str, created: str) -> None:
    _atomic_write_text(root / META_FILE, json.dumps({"name": name, "description": description, "created": created},
                                                    indent=2))


def create(name: str, description: str = "") -> Collection:
    """Create an empty collection (its folder, manifest and ``collection.json``).

    Raises :class:`InvalidInputError` for a bad name or description, or when a collection with
    that slug exists.
    """
    _refuse_in_single_mode("create a collection")
    clean = validate_name(name)
    desc = validate_description(description)
    slug = slugify(clean)
    root = home() / slug
    home().mkdir(parents=True, exist_ok=True)
    try:
        root.mkdir()
    except FileExistsError:
        raise InvalidInputError(f"a collection {slug!r} already exists; choose another name") from None
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    _write_meta(root, clean, desc, created)
    Workspace(root)  # the empty manifest
    return Collection(slug, clean, desc, root, created)


def rename(slug: str, name: str, description: str | None = None) -> Collection:
    """Give the collection ``slug`` a new name (and description, unless None); the slug stays."""
    _refuse_in_single_mode("rename a collection")
    current = get(slug)
    clean = validate_name(name)
    desc = current.description if description is None else validate_description(description)
    _write_meta(current.root, clean, desc, current.created)
    return Collection(slug, clean, desc, current.root, current.created)


def contents(slug: str) -> dict[str, Any]:
    """What deleting ``slug`` removes: ``{name, items, artifacts: [names], annotations: bool}``."""
    c = get(slug)
    try:
        ws = Workspace.open(c.root)
        n_items, artifacts = len(ws.items()), ws.names()
    except WorkspaceError:
        n_items, artifacts = 0, []
    return {"slug": c.slug, "name": c.name, "items": n_items, "artifacts": artifacts,
            "annotations": (c.root / "annotations.sqlite").is_file()}


def deletion_warning(slug: str) -> str:
    """The sentence a confirmation shows: what goes when ``slug`` is deleted."""
    what = contents(slug)
    parts = [f"{what['items']:,} photos"]
    if what["artifacts"]:
        parts.append(f"{len(what['artifacts'])} computed artifacts ({', '.join(what['artifacts'])})")
    if what["annotations"]:
        parts.append("its tags, cluster names and saved directions")
    return f"Deleting “{what['name']}” removes {', '.join(parts)}. This cannot be undone."


def summaries() -> list[dict[str, Any]]:
    """One row per collection: slug, name, description, root, created, and ``items`` (photos;
    None when its workspace cannot be read)."""
    rows = []
    for c in list_collections():
        try:
            n_items: int | None = len(Workspace.open(c.root).items())
        except WorkspaceError:
            n_items = None
        rows.append({**c.to_dict(), "items": n_items})
    return rows


def cancel_jobs(root: Path, wait_s: float = CANCEL_WAIT_S) -> bool:
    """Cancel the collection's queued or running jobs (:mod:`core.jobs`) and wait until they
    stop; True when one was cancelled. :class:`BusyError` when one is still running after ``wait_s``."""
    try:
        from core import jobs
    except ImportError:  # no job mechanism in this build: nothing can be running
        return False
    cancelled = False
    deadline = time.monotonic() + wait_s
    while True:
        job = jobs.latest(root)  # the running job, else the newest (a queued one)
        if job is None or job.state not in ACTIVE_JOB_STATES:
            return cancelled
        if time.monotonic() > deadline:
            raise BusyError("the collection's job did not stop in time; try deleting again in a moment")
        jobs.cancel(job.id)
        cancelled = True
        time.sleep(0.2)


def delete(slug: str, confirm: str) -> None:
    """Delete collection ``slug`` and everything in it; ``confirm`` must repeat the slug or name.

    A queued or running job of the collection is cancelled first (and waited for). The folder is
    moved out of sight in one rename, then removed.
    """
    _refuse_in_single_mode("delete a collection")
    c = get(slug)
    if confirm.strip() not in (c.slug, c.name):
        raise InvalidInputError(f"to delete, type the collection's name ({c.name!r}) to confirm")
    cancel_jobs(c.root)
    trash = home() / f".trash-{slug}-{uuid.uuid4().hex[:8]}"
    os.replace(c.root, trash)
    shutil.rmtree(trash, ignore_errors=True)
