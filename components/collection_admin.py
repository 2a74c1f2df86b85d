"""The Collections page's logic: the navbar switcher, create / rename / delete, and imports
staged here and run as jobs (:mod:`core.jobs`, kind ``import``). Plain functions the page's
callbacks call after :func:`components.auth.refusal`; each returns what the page shows."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components import ids, settings
from components.links import shown_slug, with_collection
from core import collections, importer
from core.errors import InvalidInputError, StyleAtlasError

PAGE_PATH = settings.COLLECTIONS_PAGE
MAX_UPLOAD_FILES = 2000


def switcher() -> Any:
    """The navbar's collection menu: the one shown, the others (each opens its overview), and the
    Collections page. A single workspace (``STYLE_ATLAS_WORKSPACE``) gets no menu."""
    if collections.single_workspace() is not None:
        return None
    rows = collections.list_collections()
    current = shown_slug()
    name = next((c.name for c in rows if c.slug == current), current or "no collection")
    items = [dbc.DropdownMenuItem(c.name, href=with_collection("/", c.slug), external_link=True, active=c.slug == current,
                                  id={"type": ids.COLLECTION_OPEN_TYPE, "slug": c.slug}) for c in rows]
    items += [dbc.DropdownMenuItem(divider=True),
              dbc.DropdownMenuItem("Manage collections…", href=with_collection(PAGE_PATH), external_link=True)]
    return dbc.DropdownMenu(items, label=name[:40], nav=True, in_navbar=True, id=ids.COLLECTION_SWITCHER,
                            toggle_class_name="collection-switcher")


def _alert(text: str, color: str) -> dbc.Alert:
    return dbc.Alert(text, color=color, dismissable=True, class_name="mb-2", id=ids.COLLECTION_MESSAGE)


def create(name: str | None, description: str | None) -> tuple[dbc.Alert, str | None]:
    """Create a collection; (message, the URL of its page to open, or None)."""
    try:
        made = collections.create(name or "", description or "")
    except StyleAtlasError as exc:
        return _alert(str(exc), "danger"), None
    return _alert(f"Created “{made.name}”.", "success"), with_collection(PAGE_PATH, made.slug)


def rename(slug: str | None, name: str | None, description: str | None) -> dbc.Alert:
    try:
        done = collections.rename(slug or "", name or "", description)
    except StyleAtlasError as exc:
        return _alert(str(exc), "danger")
    return _alert(f"Renamed to “{done.name}” (its links stay the same).", "success")


def delete(slug: str | None, confirm: str | None) -> tuple[dbc.Alert, str | None]:
    """Delete the collection (its job cancelled first); (message, the URL to go to, or None)."""
    try:
        gone = collections.get(slug or "")
        collections.delete(gone.slug, confirm or "")
    except StyleAtlasError as exc:
        return _alert(str(exc), "danger"), None
    return _alert(f"Deleted “{gone.name}”.", "success"), PAGE_PATH


def decode_uploads(contents: list[str] | str | None, names: list[str] | str | None,
                   max_bytes: int) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of a ``dcc.Upload(multiple=True)``'s data URLs; the size of the whole is
    checked from the base64 length before anything is decoded."""
    contents = [contents] if isinstance(contents, str) else list(contents or [])
    names = [names] if isinstance(names, str) else list(names or [])
    if len(contents) != len(names) or len(contents) > MAX_UPLOAD_FILES:
        raise InvalidInputError(f"an import takes at most {MAX_UPLOAD_FILES:,} files at once")
    encoded = sum(len(c) for c in contents if isinstance(c, str))
    if encoded * 3 // 4 > max_bytes:
        raise InvalidInputError(f"the files add up to about {encoded * 3 // 4 / 2**20:.0f} MB, over the import cap of "
                                f"{max_bytes / 2**20:.0f} MB")
    out = []
    for name, data_url in zip(names, contents, strict=True):
        if not isinstance(data_url, str) or not isinstance(name, str):
            raise InvalidInputError("an upload arrived damaged; choose the files again")
        _, _, payload = data_url.partition(",")
        try:
            out.append((name[:255], base64.b64decode(payload, validate=True)))
        except (binascii.Error, ValueError):
            raise InvalidInputError(f"{name[:80]} arrived damaged; choose it again") from None
    return out


def start_import(slug: str | None, contents: Any, names: Any, url_text: str | None, folder: str | None) -> dbc.Alert:
    """Stage an import into collection ``slug`` (checked, fast) and queue the job that ingests and builds it."""
    try:
        target = collections.get(slug or "") if slug else collections.list_collections()[0]
        folders = []
        if folder and folder.strip():
            if settings.hosted():
                raise InvalidInputError("importing a server folder is only possible when the app runs locally")
            folders.append(Path(folder.strip()).expanduser())
        uploads = decode_uploads(contents, names, settings.max_import_bytes())
        if not uploads and not (url_text or "").strip() and not folders:
            raise InvalidInputError("choose photos, a ZIP or a CSV, paste image URLs, or name a folder first")
        staged = importer.stage(target.root, uploads=uploads, url_text=url_text or "", folders=folders)
        from core import jobs

        job = jobs.submit(target.root, "import", {"staged_dir": str(staged)})
    except (StyleAtlasError, IndexError) as exc:
        return _alert(str(exc) if not isinstance(exc, IndexError) else "create a collection first", "danger")
    queued = " It waits for the job already running on this collection." if job.state == "queued" and _busy(target.root, job.id) else ""
    return _alert(f"Import staged; the job runs now (progress below).{queued}", "info")


def recluster(slug: str | None) -> tuple[dbc.Alert, bool]:
    """Queue a ``recluster`` job (retrain the clustering on every photo; names people gave follow
    their clusters); (message, whether a job was queued: the banner then follows it)."""
    from core import jobs
    from core.workspace import Workspace

    try:
        target = collections.get(slug or "")
        if not Workspace.open(target.root).has("clusters/default"):
            raise InvalidInputError(f"“{target.name}” has no clusters yet: import photos first (its build clusters them)")
        job = jobs.submit(target.root, "recluster", {})
    except StyleAtlasError as exc:
        return _alert(str(exc), "danger"), False
    queued = " It waits for the job already running on this collection." if _busy(target.root, job.id) else ""
    return _alert(f"Re-clustering “{target.name}”: the banner above follows it (Cancel stops it).{queued}", "info"), True


def _busy(root: Path, job_id: str) -> bool:
    from core import jobs

    return any(j.id != job_id and j.state == "running" for j in jobs.active(root))


def status(slug: str | None) -> Any:
    """The collection's latest job (step, counts, time left) and its last import's summary."""
    try:
        target = collections.get(slug) if slug else None
    except StyleAtlasError:
        return None
    if target is None:
        return None
    parts: list[Any] = []
    try:
        from core import jobs

        job = jobs.latest(target.root)
    except ImportError:
        job = None
    if job is not None:
        step = f" — {job.step} {job.done:,} / {job.total:,}" if job.step and job.total else (f" — {job.step}" if job.step else "")
        eta = f", about {int(job.eta_s)} s left" if job.eta_s and job.state == "running" else ""
        error = f": {job.error}" if job.error else ""
        parts.append(html.Div(f"Job {job.kind}: {job.state}{step}{eta}{error}", className="fw-semibold",
                              id=f"{ids.COLLECTION_IMPORT_STATUS}-job", **{"data-state": job.state}))
    last = importer.last_summary(target.root)
    if last is not None:
        parts.append(html.Div(f"Last import: added {last['added']}, duplicates {last['duplicates']}, "
                              f"skipped {len(last['skipped'])}", id=f"{ids.COLLECTION_IMPORT_STATUS}-summary"))
        if last["skipped"]:
            parts.append(html.Ul([html.Li(f"{s['source']}: {s['reason']}") for s in last["skipped"][:50]],
                                 className="small text-muted mb-0"))
    return parts or html.Div("No import yet.", className="text-muted")
