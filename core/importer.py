"""Import into a collection: stage what arrived (fast, checked), then ingest it (a job).

An import has two halves. **Staging** runs in the request (or the CLI): photos, a ZIP with an
optional CSV of metadata, a CSV or pasted list of image URLs, or a server folder are checked
against :class:`ImportLimits` *before* any work (sizes, entry names, compression ratios) and
written to ``<collection>/staging/<import id>/`` with a ``plan.json`` saying what each staged
file is and which metadata it carries. **Ingesting** (:func:`ingest_staged`, run by the
``import`` job of :mod:`core.jobs`) fetches the URLs through :mod:`core.fetch` (SSRF guard,
bounded concurrency, retries), validates and adds every image through :mod:`core.images`, and
writes an :class:`ImportSummary`: added, duplicates (same content hash) and skipped with reasons.

Refused ZIP entries (absolute paths or ``..``, symbolic links, nested archives, a compression
ratio over the cap, encrypted, over the per-file cap) and CSV rows that name files missing from
the upload are each reported by name; the rest is imported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import stat
import time
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from core.errors import BusyError, FetchUnavailableError, InvalidInputError
from core.fetch import MAX_CONCURRENT_FETCHES, FetchPolicy, fetch_image
from core.images import IMAGE_EXTENSIONS, PRODUCT_ID_COLUMN, ingest, ingest_files
from core.progress import Progress, report
from core.workspace import Workspace, atomic_write_bytes

STAGING = "staging"
IMPORTS = "imports"  # <collection>/imports/<id>.json: the summary of each finished import
PLAN = "plan.json"
ARCHIVE_EXTENSIONS = {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".jar"}
FILE_COLUMNS = ("path", "file", "filename", "image")
URL_COLUMNS = ("url", "image_url")
SYSTEM_PREFIXES = ("__MACOSX/",)


@dataclass(frozen=True)
class ImportLimits:
    """Caps of one import, checked before any work.

    Attributes
    ----------
    max_file_bytes : one photo (an upload, a ZIP entry uncompressed, a downloaded URL).
    max_import_bytes : everything of one import (ZIP entries counted uncompressed).
    max_files : photos and URLs in one import.
    max_ratio : largest uncompressed/compressed size of a ZIP entry (ZIP bombs are far above).
    max_csv_bytes : a metadata or URL CSV.
    fetch_concurrency : URLs fetched at once (at most :data:`core.fetch.MAX_CONCURRENT_FETCHES`).
    fetch_retries : further tries of a URL that failed for a reason that may pass.
    retry_wait_s : pause before the first retry (doubled each time).
    """

    max_file_bytes: int = 25 * 2**20
    max_import_bytes: int = 500 * 2**20
    max_files: int = 5000
    max_ratio: float = 100.0
    max_csv_bytes: int = 5 * 2**20
    fetch_concurrency: int = MAX_CONCURRENT_FETCHES
    fetch_retries: int = 2
    retry_wait_s: float = 0.5


@dataclass
class ImportSummary:
    """What an import did: item ids added, sources that were duplicates, sources skipped."""

    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # [{source, reason}]

    def to_dict(self) -> dict[str, Any]:
        return {"added": len(self.added), "duplicates": len(self.duplicates), "skipped": self.skipped,
                "added_ids": self.added, "duplicate_sources": self.duplicates}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportSummary:
        """The summary :meth:`to_dict` wrote (``imports/<id>.json``)."""
        return cls(added=list(data.get("added_ids", [])), duplicates=list(data.get("duplicate_sources", [])),
                   skipped=list(data.get("skipped", [])))

    def text(self) -> str:
        """One line: ``added 28, duplicates 2, skipped 1``."""
        return f"added {len(self.added)}, duplicates {len(self.duplicates)}, skipped {len(self.skipped)}"


@dataclass
class _Plan:
    """What a staging folder holds (``plan.json``)."""

    id: str
    created: str
    entries: list[dict[str, Any]] = field(default_factory=list)  # {file, source, metadata}
    urls: list[dict[str, Any]] = field(default_factory=list)  # {url, metadata}
    folders: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    bytes: int = 0
    before: list[str] | None = None  # the collection's item ids when the import began (set once)

    def save(self, folder: Path) -> None:
        atomic_write_bytes(folder / PLAN, json.dumps(asdict(self), indent=1).encode())

    @classmethod
    def load(cls, folder: Path) -> _Plan:
        try:
            return cls(**json.loads((folder / PLAN).read_text()))
        except (FileNotFoundError, json.JSONDecodeError, TypeError) as exc:
            raise InvalidInputError(f"{folder} is not a staged import ({exc.__class__.__name__})") from None


def _skip(source: str, reason: str) -> dict[str, str]:
    return {"source": source, "reason": reason}


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


class _Stager:
    """Builds one staging folder: files are written as they pass their checks, the plan last."""

    def __init__(self, root: Path, limits: ImportLimits) -> None:
        self.limits = limits
        import_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.folder = Path(root) / STAGING / import_id
        (self.folder / "files").mkdir(parents=True)
        self.plan = _Plan(id=import_id, created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        self.tables: list[tuple[str, pd.DataFrame]] = []  # metadata CSVs (name, table)
        self.count = 0

    # -- budget ------------------------------------------------------------------------------
    def reserve(self, n_bytes: int, what: str) -> None:
        """Count ``n_bytes`` of ``what`` against the import cap (InvalidInputError past it)."""
        if self.plan.bytes + n_bytes > self.limits.max_import_bytes:
            raise InvalidInputError(f"the import is over its size cap ({_mb(self.limits.max_import_bytes)}) at {what}; "
                                    "import fewer photos at once")
        self.plan.bytes += n_bytes

    def count_one(self) -> None:
        self.count += 1
        if self.count > self.limits.max_files:
            raise InvalidInputError(f"the import holds more than {self.limits.max_files:,} photos and URLs; "
                                    "split it into several imports")

    # -- staging -----------------------------------------------------------------------------
    def add_image(self, data: bytes, source: str, key: str) -> None:
        self.count_one()
        name = f"files/{len(self.plan.entries):05d}{_suffix(key) or '.img'}"
        atomic_write_bytes(self.folder / name, data)
        self.plan.entries.append({"file": name, "source": source, "key": key, "metadata": {}})

    def add_upload(self, name: str, data: bytes) -> None:
        """One file of a browser upload (or the CLI): a photo, a ZIP or a CSV."""
        shown = PurePosixPath(name.replace("\\", "/")).name or "upload"
        ext = _suffix(shown)
        if ext == ".zip":
            self.add_zip(shown, data)
        elif ext == ".csv":
            self.add_csv(shown, data)
        elif ext in IMAGE_EXTENSIONS:
            if len(data) > self.limits.max_file_bytes:
                self.plan.skipped.append(_skip(shown, f"file too large ({_mb(len(data))} > cap "
                                                      f"{_mb(self.limits.max_file_bytes)})"))
                return
            self.add_image(data, f"upload:{shown}", shown)
        elif ext in ARCHIVE_EXTENSIONS:
            self.plan.skipped.append(_skip(shown, f"archive type {ext} is not read (only .zip)"))
        else:
            self.plan.skipped.append(_skip(shown, f"not an image file type ({ext or 'no extension'})"))

    def add_zip(self, zip_name: str, data: bytes) -> None:
        """The entries of a ZIP: every refused entry is reported by name, the rest staged."""
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            infos = archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
            raise InvalidInputError(f"{zip_name} is not a readable ZIP file ({exc})") from None
        accepted: list[zipfile.ZipInfo] = []
        for info in infos:
            source = f"{zip_name}:{info.filename}"
            if info.is_dir() or info.filename.startswith(SYSTEM_PREFIXES) or PurePosixPath(info.filename).name.startswith("."):
                continue
            reason = self._refusal(info)
            if reason:
                self.plan.skipped.append(_skip(source, reason))
            else:
                accepted.append(info)
        declared = sum(i.file_size for i in accepted)
        self.reserve(declared, f"{zip_name} ({_mb(declared)} uncompressed)")
        for info in accepted:
            source = f"{zip_name}:{info.filename}"
            try:
                with archive.open(info) as fh:
                    body = fh.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:  # CRC, truncated
                self.plan.skipped.append(_skip(source, f"damaged ZIP entry ({exc})"))
                continue
            if len(body) > info.file_size:
                self.plan.skipped.append(_skip(source, "entry holds more data than it declares (refused)"))
                continue
            if _suffix(info.filename) == ".csv":
                self.add_csv(source, body)
            else:
                self.add_image(body, source, info.filename)

    def _refusal(self, info: zipfile.ZipInfo) -> str | None:
        """Why a ZIP entry is refused, or None."""
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or "\\" in name:
            return "absolute or non-portable path (refused)"
        if ".." in parts:
            return "path leaves the archive ('..', refused)"
        mode = info.external_attr >> 16
        if mode and stat.S_ISLNK(mode):
            return "symbolic link (refused)"
        if info.flag_bits & 0x1:
            return "encrypted entry (refused)"
        ext = _suffix(name)
        if ext in ARCHIVE_EXTENSIONS:
            return "nested archive (refused)"
        if ext != ".csv" and ext not in IMAGE_EXTENSIONS:
            return f"not an image file type ({ext or 'no extension'})"
        cap = self.limits.max_csv_bytes if ext == ".csv" else self.limits.max_file_bytes
        if info.file_size > cap:
            return f"too large uncompressed ({_mb(info.file_size)} > cap {_mb(cap)})"
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > self.limits.max_ratio:
            return f"compression ratio {ratio:,.0f}:1 over the cap of {self.limits.max_ratio:g}:1 (refused)"
        return None

    def add_csv(self, source: str, data: bytes) -> None:
        """A metadata CSV (a file column) or a URL list (a url column), or refused naming why."""
        if len(data) > self.limits.max_csv_bytes:
            raise InvalidInputError(f"{source} is {_mb(len(data))}; a CSV may hold at most {_mb(self.limits.max_csv_bytes)}")
        try:
            table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"{source} is not a readable CSV: {exc}") from None
        table.columns = [str(c).strip() for c in table.columns]
        lower = {c.lower(): c for c in table.columns}
        if "item_id" in lower:
            table = table.rename(columns={lower["item_id"]: PRODUCT_ID_COLUMN})
        url_col = next((lower[c] for c in URL_COLUMNS if c in lower), None)
        file_col = next((lower[c] for c in FILE_COLUMNS if c in lower), None)
        if url_col is not None and file_col is None:
            self._add_url_rows(source, table, url_col)
        elif file_col is not None:
            self.tables.append((source, table.rename(columns={file_col: "__file__"})))
        else:
            raise InvalidInputError(
                f"{source} names neither files (a column {', '.join(FILE_COLUMNS)}) nor URLs (a column url); "
                f"columns found: {', '.join(table.columns) or 'none'}")

    def _add_url_rows(self, source: str, table: pd.DataFrame, url_col: str) -> None:
        meta_cols = [c for c in table.columns if c != url_col]
        for n, row in enumerate(table.to_dict("records"), start=2):
            url = str(row[url_col]).strip()
            if not url:
                self.plan.skipped.append(_skip(f"{source} row {n}", "no URL"))
                continue
            self.add_url(url, {c: row[c] for c in meta_cols})

    def add_url(self, url: str, metadata: dict[str, Any] | None = None) -> None:
        self.count_one()
        if len(url) > 2048:
            self.plan.skipped.append(_skip(url[:80] + "…", "URL longer than 2,048 characters"))
            return
        self.plan.urls.append({"url": url, "metadata": dict(metadata or {})})

    def add_url_text(self, text: str) -> None:
        """A pasted list: one URL per line (blank lines and ``#`` comments ignored), or a CSV with a url column."""
        if len(text.encode()) > self.limits.max_csv_bytes:
            raise InvalidInputError(f"the URL list is over {_mb(self.limits.max_csv_bytes)}")
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        if "," in first and any(c in first.lower() for c in URL_COLUMNS):
            self.add_csv("pasted list", text.encode())
            return
        for line in text.splitlines():
            url = line.strip()
            if url and not url.startswith("#"):
                self.add_url(url)

    def add_folder(self, folder: Path) -> None:
        if not folder.is_dir():
            raise InvalidInputError(f"{folder} is not a folder on the server")
        self.plan.folders.append(str(folder.absolute()))

    # -- metadata ----------------------------------------------------------------------------
    def attach_metadata(self) -> None:
        """Give each staged file the row of the CSV that names it (by path in the ZIP, or by file
        name); rows that name no staged file are reported, each by name."""
        by_key: dict[str, list[dict[str, Any]]] = {}
        for entry in self.plan.entries:
            key = entry["key"]
            by_key.setdefault(key, []).append(entry)
            by_key.setdefault(PurePosixPath(key).name, []).append(entry)
        for source, table in self.tables:
            meta_cols = [c for c in table.columns if c != "__file__"]
            for n, row in enumerate(table.to_dict("records"), start=2):
                named = str(row["__file__"]).strip().replace("\\", "/").removeprefix("./")
                matches = by_key.get(named) or by_key.get(PurePosixPath(named).name)
                if not matches:
                    self.plan.skipped.append(_skip(f"{source} row {n}: {named[:200]}",
                                                   "the CSV names a file that is not in the upload"))
                    continue
                for entry in matches:
                    entry["metadata"].update({c: row[c] for c in meta_cols})

    def finish(self) -> Path:
        """Write the plan; InvalidInputError (and nothing left staged) when there is nothing to import."""
        self.attach_metadata()
        if not (self.plan.entries or self.plan.urls or self.plan.folders):
            shutil.rmtree(self.folder, ignore_errors=True)
            reasons = "; ".join(f"{s['source']}: {s['reason']}" for s in self.plan.skipped[:5])
            more = f" and {len(self.plan.skipped) - 5} more" if len(self.plan.skipped) > 5 else ""
            raise InvalidInputError("the import holds no images" + (f" ({reasons}{more})" if reasons else ""))
        self.plan.save(self.folder)
        return self.folder

    def abandon(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def stage(root: Path, *, uploads: Sequence[tuple[str, bytes]] = (), url_text: str = "",
          folders: Iterable[Path] = (), limits: ImportLimits | None = None) -> Path:
    """Check and stage one import into the collection at ``root``; returns the staging folder.

    Parameters
    ----------
    uploads : ``(file name, bytes)`` of photos, ZIPs and CSVs (metadata with a file column, or
        URLs with a url column).
    url_text : a pasted list of image URLs (one a line) or a CSV with a url column.
    folders : server folders to import (the caller decides whether that is allowed).

    Raises :class:`InvalidInputError` (nothing staged) for a file or the import over its cap, an
    unreadable ZIP or CSV, or when nothing in it is an image.
    """
    lim = limits or ImportLimits()
    sizes = [len(data) for _, data in uploads]
    if sum(sizes) > lim.max_import_bytes:
        raise InvalidInputError(f"the import is {_mb(sum(sizes))}, over its size cap ({_mb(lim.max_import_bytes)})")
    stager = _Stager(root, lim)
    try:
        for name, data in uploads:
            if _suffix(name) not in (".zip", ".csv"):
                stager.reserve(min(len(data), lim.max_file_bytes + 1), name)
            stager.add_upload(name, data)
        if url_text.strip():
            stager.add_url_text(url_text)
        for folder in folders:
            stager.add_folder(Path(folder))
        return stager.finish()
    except BaseException:
        stager.abandon()
        raise


def stage_path(root: Path, source: Path, *, limits: ImportLimits | None = None) -> Path:
    """Stage what the CLI names: a folder, a ZIP, a CSV (files beside it, or URLs), a text file
    of URLs, or one photo. Sizes are checked from the file system before anything is read."""
    lim = limits or ImportLimits()
    src = Path(source).expanduser()
    if not src.exists():
        raise InvalidInputError(f"source {src} does not exist")
    if src.is_dir():
        return stage(root, folders=[src], limits=lim)
    size = src.stat().st_size
    ext = src.suffix.lower()
    cap = lim.max_import_bytes if ext == ".zip" else lim.max_csv_bytes if ext in (".csv", ".txt") else lim.max_file_bytes
    if size > cap:
        raise InvalidInputError(f"{src} is {_mb(size)}, over the cap of {_mb(cap)} for this kind of file")
    if ext == ".txt":
        return stage(root, url_text=src.read_text(errors="replace"), limits=lim)
    if ext == ".csv":
        head = src.read_text(errors="replace").splitlines()[:1]
        columns = [c.strip().lower() for c in next(csv.reader(head), [])]
        if "path" in columns:  # a catalog CSV of files beside it: the CLI's ingest reads it
            return _stage_catalog(root, src, lim)
    return stage(root, uploads=[(src.name, src.read_bytes())], limits=lim)


def _stage_catalog(root: Path, csv_path: Path, lim: ImportLimits) -> Path:
    stager = _Stager(root, lim)
    stager.plan.folders.append("catalog:" + str(csv_path.absolute()))
    return stager.finish()


# -- ingesting (the job) -------------------------------------------------------------------
def _fetch_one(url: str, policy: FetchPolicy, lim: ImportLimits) -> bytes:
    """The bytes of ``url``; retried when the failure may pass (timeouts, 5xx, busy slots)."""
    wait = lim.retry_wait_s
    for attempt in range(lim.fetch_retries + 1):
        try:
            return fetch_image(url, policy).data
        except (FetchUnavailableError, BusyError):
            if attempt == lim.fetch_retries:
                raise
            time.sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")


def _fetch_urls(folder: Path, plan: _Plan, lim: ImportLimits, policy: FetchPolicy | None,
                progress: Progress, total: int) -> None:
    """Download the plan's URLs into the staging folder (as entries); failures into skipped."""
    base = policy or FetchPolicy()
    pol = FetchPolicy(timeout_s=base.timeout_s, max_bytes=min(base.max_bytes, lim.max_file_bytes),
                      max_redirects=base.max_redirects, allow_networks=base.allow_networks, ca_certs=base.ca_certs)
    todo = [u for u in plan.urls if not u.get("done")]

    def work(u: dict[str, Any]) -> tuple[dict[str, Any], bytes | str]:
        try:
            return u, _fetch_one(u["url"], pol, lim)
        except (InvalidInputError, BusyError) as exc:
            return u, str(exc)

    workers = max(1, min(lim.fetch_concurrency, MAX_CONCURRENT_FETCHES))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for n, (u, outcome) in enumerate(pool.map(work, todo), start=1):
            u["done"] = True
            if isinstance(outcome, str):
                plan.skipped.append(_skip(u["url"], outcome))
            elif plan.bytes + len(outcome) > lim.max_import_bytes:
                plan.skipped.append(_skip(u["url"], f"the import reached its size cap ({_mb(lim.max_import_bytes)})"))
            else:
                plan.bytes += len(outcome)
                name = f"files/u{len(plan.entries):05d}.img"
                atomic_write_bytes(folder / name, outcome)
                plan.entries.append({"file": name, "source": u["url"], "key": u["url"], "metadata": u["metadata"]})
            report(progress, n, total)
    plan.save(folder)  # a resumed job does not fetch again


def ingest_staged(ws: Workspace, staged_dir: Path, progress: Progress = None, *,
                  policy: FetchPolicy | None = None, limits: ImportLimits | None = None) -> ImportSummary:
    """Ingest a staging folder made by :func:`stage` into ``ws`` (the ``import`` job's work).

    URLs are fetched first (``policy``: the fetch limits; tests allow their local server), then
    every staged photo is validated and added. The summary is written to
    ``<ws>/imports/<id>.json`` and the staged files are removed. Run again on the same folder (a
    resumed job), it fetches nothing twice and adds nothing twice, and counts the photos its
    first run added as added (the plan records the catalog's ids when it began); once it has
    finished, it returns the summary it wrote. :class:`InvalidInputError`
    (after the summary is written) when not one image could be imported.
    """
    lim = limits or ImportLimits()
    folder = Path(staged_dir)
    done = _finished_summary(ws, folder)
    if done is not None:  # a resumed job whose import had finished: only the steps after it remain
        return _nothing_imported_is_an_error(done)
    plan = begin(ws, folder)
    n_urls = sum(1 for u in plan.urls if not u.get("done"))
    estimate = n_urls + len(plan.entries) + n_urls
    if n_urls:
        _fetch_urls(folder, plan, lim, policy, progress, estimate)
    summary = ImportSummary(skipped=list(plan.skipped))
    for src in plan.folders:  # server folders and catalog CSVs: the CLI's ingestion
        rep = ingest(ws, src.removeprefix("catalog:"), skip_missing=True)
        summary.added += rep.added
        summary.duplicates += rep.existing_sources
        summary.skipped += rep.skipped
    if plan.entries:
        records = [e["metadata"] for e in plan.entries]
        meta = pd.DataFrame(records).fillna("") if any(records) else pd.DataFrame(index=range(len(records)))
        done_before = n_urls

        def step(done: int, total: int) -> None:
            report(progress, done_before + done, done_before + total)

        rep = ingest_files(ws, [folder / e["file"] for e in plan.entries], [e["source"] for e in plan.entries], meta,
                           progress=step)
        summary.added += rep.added
        summary.duplicates += rep.existing_sources
        summary.skipped += rep.skipped
    _count_resumed(ws, plan, summary)
    out = Path(ws.root) / IMPORTS / f"{plan.id}.json"
    atomic_write_bytes(out, json.dumps({"id": plan.id, "created": plan.created, **summary.to_dict()}, indent=1).encode())
    shutil.rmtree(folder, ignore_errors=True)
    return _nothing_imported_is_an_error(summary)


def _nothing_imported_is_an_error(summary: ImportSummary) -> ImportSummary:
    if not summary.added and not summary.duplicates:
        shown = "; ".join(f"{s['source']}: {s['reason']}" for s in summary.skipped[:3])
        raise InvalidInputError(f"nothing was imported: {len(summary.skipped)} skipped ({shown})")
    return summary


def begin(ws: Workspace, staged_dir: Path) -> _Plan:
    """The staged import's plan, with the collection's item ids at its first start recorded
    (``before``), so a resumed run tells the photos it added itself from true duplicates."""
    folder = Path(staged_dir)
    plan = _Plan.load(folder)
    if plan.before is None:
        plan.before = sorted(set(ws.items()["item_id"].astype(str))) if ws.has("items") else []
        plan.save(folder)
    return plan


def _count_resumed(ws: Workspace, plan: _Plan, summary: ImportSummary) -> None:
    """Move the "duplicates" this import itself added on an earlier, interrupted run (their
    item is in the catalog under the same source, and was not there when it began) to added."""
    if not summary.duplicates or not ws.has("items"):
        return
    before = set(plan.before or [])
    items = ws.items()
    id_of = dict(zip(items["source"].astype(str), items["item_id"].astype(str)))
    dups: list[str] = []
    for source in summary.duplicates:
        item = id_of.get(source)
        if item is not None and item not in before and item not in summary.added:
            summary.added.append(item)
        else:
            dups.append(source)
    summary.duplicates = dups


def _finished_summary(ws: Workspace, staged_dir: Path) -> ImportSummary | None:
    """The summary of the import staged as ``staged_dir`` once it finished (its staging folder
    is then gone), else None."""
    out = Path(ws.root) / IMPORTS / f"{Path(staged_dir).name}.json"
    if Path(staged_dir).is_dir() or not out.is_file():
        return None
    try:
        return ImportSummary.from_dict(json.loads(out.read_text()))
    except (OSError, json.JSONDecodeError):
        return None


def last_summary(root: Path) -> dict[str, Any] | None:
    """The summary of the latest finished import into the collection at ``root``, or None."""
    found = list((Path(root) / IMPORTS).glob("*.json"))
    if not found:
        return None
    try:  # the last written (ids sort by second only; two imports may share one)
        newest = max(found, key=lambda p: (p.stat().st_mtime_ns, p.name))
        data: dict[str, Any] = json.loads(newest.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data
