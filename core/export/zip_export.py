"""ZIP export: the selection's original images with its CSV inside, streamed.

The archive is written to a sink that hands out what was written so far, one image at a time
(and in 1 MiB slices within a large one), so an export of 2,000 photos never holds more than one
image in memory. Images are stored (JPEG does not deflate), the CSV (last member) deflated; its ``file``
column names each image's member.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator

import pandas as pd

from core.export.csv_export import csv_chunks
from core.export.images import original_bytes
from core.export.selection import Selection, slug
from core.workspace import Workspace

__all__ = ["MEDIA_TYPE", "zip_chunks"]

MEDIA_TYPE = "application/zip"
SLICE = 1 << 20
CSV_NAME = "catalog.csv"


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream whose written bytes are taken out by :meth:`take`."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._parts.append(bytes(b))
        return len(b)

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def member_name(position: int, total: int, label: str, item_id: str, ext: str) -> str:
    """``images/0001-dress-<item id>.jpg``: position, label and id (unique, in order)."""
    width = max(4, len(str(total)))
    return f"images/{position:0{width}d}-{slug(label, 'item')[:30]}-{item_id}{ext}"


def zip_chunks(ws: Workspace, selection: Selection, frame: pd.DataFrame) -> Iterator[bytes]:
    """The ZIP archive of ``selection`` (``frame``: its export table) as a stream of chunks."""
    sink = _Sink()
    stamp = time.localtime()[:6]
    with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:
        names = []
        for n, (item_id, source, label) in enumerate(zip(frame["item_id"], frame["source"], frame["label"],
                                                         strict=True), start=1):
            data, ext = original_bytes(ws, str(item_id), str(source))
            name = member_name(n, len(frame), str(label), str(item_id), ext)
            names.append(name)
            info = zipfile.ZipInfo(name, stamp)
            info.compress_type = zipfile.ZIP_STORED
            with zf.open(info, "w", force_zip64=len(data) > 2**31) as fh:
                for start in range(0, len(data), SLICE):
                    fh.write(data[start:start + SLICE])
                    yield sink.take()
            del data
        # the CSV last, when every image's member name is known (the original or the copy)
        table = frame.copy()
        table.insert(1, "file", names)
        info = zipfile.ZipInfo(CSV_NAME, stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w") as fh:
            for chunk in csv_chunks(table):
                fh.write(chunk)
                yield sink.take()
    yield sink.take()  # the central directory, written on close
