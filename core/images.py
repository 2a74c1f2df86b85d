"""Ingestion: validated images, content-hashed ids, normalised copies and thumbnails.

Sources are a folder (recursive), a CSV whose ``path`` column names the images, or single
images given as bytes. A file that is not a usable image is reported with its reason and
skipped; the rest is ingested. The same image twice is one item; a re-run adds only what is new.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image, ImageOps, UnidentifiedImageError

from core.colour import dominant_colour
from core.errors import InvalidImageError, InvalidInputError
from core.progress import Progress, report
from core.workspace import Workspace, atomic_write_bytes

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
# The CSV's own ``item_id`` column (a product identifier) is kept under this name, because
# ``item_id`` is the content-hash key of the catalog.
PRODUCT_ID_COLUMN = "product_id"


@dataclass(frozen=True)
class IngestConfig:
    """How images are validated and stored."""

    max_pixels: int = 40_000_000  # decompression-bomb cap (width × height)
    max_bytes: int = 50_000_000
    full_size: int = 1024  # long side of the stored normalised copy
    thumb_size: int = 200  # long side of the browser thumbnail
    workers: int = 4


@dataclass
class IngestReport:
    """What one ingestion did."""

    added: list[str] = field(default_factory=list)  # new item ids
    existing: int = 0  # images already in the catalog (same content)
    skipped: list[dict[str, str]] = field(default_factory=list)  # [{source, reason}]
    existing_sources: list[str] = field(default_factory=list)  # the sources counted in ``existing``

    def to_dict(self) -> dict[str, Any]:
        return {"added": len(self.added), "existing": self.existing, "skipped": self.skipped}


def item_id_for(data: bytes) -> str:
    """Content hash id of an image file: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:16]


def decode_image(data: bytes, *, max_pixels: int = IngestConfig.max_pixels) -> Image.Image:
    """Decode image bytes to an RGB picture with its EXIF orientation applied.

    Raises :class:`InvalidImageError` naming the reason: empty, not an image, truncated or
    corrupt, or more pixels than ``max_pixels``. Grey, CMYK, palette and alpha images are
    converted to RGB (transparency composited on white).
    """
    if not data:
        raise InvalidImageError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidImageError(
                    f"too many pixels ({width}×{height} = {width * height:,} > cap {max_pixels:,})"
                )
            image.load()
    except InvalidImageError:
        raise
    except UnidentifiedImageError:
        raise InvalidImageError("not an image (unrecognised format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImageError(f"too many pixels (decompression bomb: {exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"truncated or corrupt image data ({exc})") from None
    image = ImageOps.exif_transpose(image)
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB; alpha and palette transparency are composited on white."""
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        import numpy as np

        arr = np.asarray(image, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo or 1.0) * 255.0
        return Image.fromarray(arr.astype("uint8"), "L").convert("RGB")
    return image.convert("RGB")


@dataclass(frozen=True)
class _Prepared:
    item_id: str
    width: int
    height: int
    dominant_colour: str


def _store(ws: Workspace, data: bytes, cfg: IngestConfig) -> _Prepared:
    """Validate one image and write its normalised copy and thumbnail (content-addressed)."""
    if len(data) > cfg.max_bytes:
        raise InvalidImageError(f"file too large ({len(data):,} bytes > cap {cfg.max_bytes:,})")
    image = decode_image(data, max_pixels=cfg.max_pixels)
    item_id = item_id_for(data)
    full = image.copy()
    full.thumbnail((cfg.full_size, cfg.full_size), Image.Resampling.LANCZOS)
    thumb = full.copy()
    thumb.thumbnail((cfg.thumb_size, cfg.thumb_size), Image.Resampling.LANCZOS)
    for path, picture, quality in (
        (ws.image_path(item_id), full, 90),
        (ws.thumb_path(item_id), thumb, 85),
    ):
        if not path.exists():
            buf = io.BytesIO()
            picture.save(buf, format="JPEG", quality=quality)
            atomic_write_bytes(path, buf.getvalue())
    return _Prepared(item_id, image.width, image.height, dominant_colour(thumb))


def _candidates_in_folder(folder: Path) -> tuple[list[Path], list[dict[str, str]]]:
    files: list[Path] = []
    skipped: list[dict[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            if path.suffix.lower() in IMAGE_EXTENSIONS:
                files.append(path)
            else:
                skipped.append({"source": str(path), "reason": f"not an image file type ({path.suffix or 'no extension'})"})
    return files, skipped


def read_catalog_csv(csv_path: Path, *, skip_missing: bool = False) -> tuple[list[Path], pd.DataFrame, list[dict[str, str]]]:
    """Read a catalog CSV: a ``path`` column (absolute, or relative to the CSV) and metadata.

    Returns the image paths, their metadata rows (same order) and the rows skipped. Raises
    :class:`InvalidInputError` when the path column is missing, or when files are missing and
    ``skip_missing`` is False (naming them).
    """
    try:
        table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{csv_path} is not a readable CSV: {exc}") from None
    if "path" not in table.columns:
        raise InvalidInputError(
            f"{csv_path} has no 'path' column (columns found: {', '.join(table.columns) or 'none'})"
        )
    if "item_id" in table.columns:
        table = table.rename(columns={"item_id": PRODUCT_ID_COLUMN})
    paths = [Path(p) if Path(p).is_absolute() else csv_path.parent / p for p in table["path"]]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing and not skip_missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise InvalidInputError(f"{csv_path} names {len(missing)} missing file(s): {shown}")
    keep = [p.is_file() for p in paths]
    skipped = [{"source": m, "reason": "file not found"} for m in missing]
    meta = table.loc[keep].drop(columns=["path"]).reset_index(drop=True)
    return [p for p, k in zip(paths, keep) if k], meta, skipped


def ingest(
    ws: Workspace,
    source: str | os.PathLike[str],
    *,
    config: IngestConfig | None = None,
    skip_missing: bool = False,
    progress: Progress = None,
) -> IngestReport:
    """Add the images of a folder (recursive) or a catalog CSV to the workspace."""
    cfg = config or IngestConfig()
    src = Path(source).expanduser()
    if not src.exists():
        raise InvalidInputError(f"source {src} does not exist")
    if src.is_dir():
        paths, skipped = _candidates_in_folder(src)
        meta = pd.DataFrame({"folder": [str(p.parent.relative_to(src)) for p in paths]})
        meta["folder"] = meta["folder"].replace(".", "")
        if not paths:
            raise InvalidInputError(f"folder {src} holds no image files ({IMAGE_EXTENSIONS_TEXT})")
    elif src.suffix.lower() == ".csv":
        paths, meta, skipped = read_catalog_csv(src, skip_missing=skip_missing)
        if not paths:
            raise InvalidInputError(f"{src} lists no images")
    else:
        raise InvalidInputError(f"source {src} is neither a folder nor a .csv catalog")
    sources = [str(p.absolute()) for p in paths]
    return _ingest_files(ws, sources, meta, skipped, cfg, progress)


IMAGE_EXTENSIONS_TEXT = "looked for " + ", ".join(sorted(IMAGE_EXTENSIONS))


def ingest_bytes(
    ws: Workspace,
    data: bytes,
    name: str = "upload",
    metadata: dict[str, Any] | None = None,
    *,
    config: IngestConfig | None = None,
) -> str:
    """Add one image given as bytes (an upload). Returns its item id.

    Raises :class:`InvalidImageError` for bytes that are not a usable image; the catalog is
    then left exactly as it was.
    """
    cfg = config or IngestConfig()
    prepared = _store(ws, data, cfg)
    _merge_items(ws, [_row(prepared, f"upload:{name}", metadata or {})], [])
    return prepared.item_id


def _row(p: _Prepared, source: str, metadata: dict[str, Any]) -> dict[str, Any]:
    row = {"item_id": p.item_id, "source": source, "width": p.width, "height": p.height,
           "dominant_colour": p.dominant_colour}
    row.update({k: v for k, v in metadata.items() if k not in row})
    return row


def ingest_files(
    ws: Workspace,
    paths: list[Path],
    sources: list[str],
    meta: pd.DataFrame,
    *,
    skipped: Iterable[dict[str, str]] = (),
    config: IngestConfig | None = None,
    progress: Progress = None,
) -> IngestReport:
    """Add image files to the workspace: ``paths[i]`` is read, ``sources[i]`` is what the catalog
    and the report call it (a ZIP entry, a URL), ``meta`` row i its metadata (no columns: none).
    ``skipped`` (already refused elsewhere) is carried into the report and the skipped list."""
    return _ingest_files(ws, sources, meta, list(skipped), config or IngestConfig(), progress,
                         paths=[str(p) for p in paths])


def _ingest_files(
    ws: Workspace,
    sources: list[str],
    meta: pd.DataFrame,
    skipped: list[dict[str, str]],
    cfg: IngestConfig,
    progress: Progress,
    paths: list[str] | None = None,
) -> IngestReport:
    result = IngestReport(skipped=list(skipped))
    catalog = ws.items()
    known = set(catalog["item_id"])
    known_sources = dict(zip(catalog["source"], catalog["item_id"]))
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()

    def work(i: int) -> tuple[int, _Prepared | str | None]:
        path = sources[i]
        try:
            data = Path(paths[i] if paths is not None else path).read_bytes()
        except OSError as exc:
            return i, f"unreadable file ({exc.strerror or exc})"
        item_id = item_id_for(data)
        if item_id in known and known_sources.get(path) == item_id:
            return i, None  # unchanged since the last run
        try:
            return i, _store(ws, data, cfg)
        except InvalidImageError as exc:
            return i, str(exc)

    total = len(sources)
    with ThreadPoolExecutor(max_workers=max(1, cfg.workers)) as pool:
        for done, (i, outcome) in enumerate(pool.map(work, range(total)), start=1):
            if outcome is None:
                result.existing += 1
                result.existing_sources.append(sources[i])
            elif isinstance(outcome, str):
                result.skipped.append({"source": sources[i], "reason": outcome})
            elif outcome.item_id in known or outcome.item_id in seen:
                result.existing += 1
                result.existing_sources.append(sources[i])
            else:
                seen.add(outcome.item_id)
                rows.append(_row(outcome, sources[i], _metadata(meta, i)))
            report(progress, done, total)
    result.added = [r["item_id"] for r in rows]
    _merge_items(ws, rows, result.skipped, ingested_sources=set(sources))
    return result


def _metadata(meta: pd.DataFrame, i: int) -> dict[str, Any]:
    if meta.empty and not len(meta.columns):
        return {}
    return {k: (v if v != "" else None) for k, v in meta.iloc[i].to_dict().items()}


def _merge_items(
    ws: Workspace,
    rows: list[dict[str, Any]],
    skipped: list[dict[str, str]],
    ingested_sources: Iterable[str] = (),
) -> None:
    """Append new rows to the items artifact and update the skipped list (one new version)."""
    old = ws.items()
    old_skipped = ws.skipped()
    fresh = {s["source"] for s in skipped} | set(ingested_sources)
    merged_skipped = [s for s in old_skipped if s["source"] not in fresh] + list(skipped)
    if not rows and ws.has("items") and merged_skipped == old_skipped:
        return
    new = pd.DataFrame(rows)
    table = pd.concat([old, new], ignore_index=True) if len(old) else new
    if table.empty:
        table = old
    for col in ("label", "dominant_colour", "source", "item_id"):
        if col not in table.columns:
            table[col] = None
    table = table.drop_duplicates("item_id", keep="first").reset_index(drop=True)
    for col in ("width", "height"):
        if col in table.columns:
            table[col] = table[col].fillna(0).astype("int64")
    config = {"schema": "items/1", **asdict(IngestConfig())}
    with ws.write_artifact("items", config=config) as tmp:
        table.to_parquet(tmp / "items.parquet", index=False)
        (tmp / "skipped.json").write_text(json.dumps(merged_skipped, indent=1))
