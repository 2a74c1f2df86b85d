"""Exports: a board, a tag, a cluster, a tray or a result list, taken elsewhere.

Formats, one module each: ``csv`` (the table: item id, source, label, cluster and its name,
tags, score, note, every catalog column), ``zip`` (the original images with that CSV inside),
``pdf`` (a look-book) and ``html`` (the same look-book as one self-contained file). Every format
is a stream of byte chunks (:func:`stream`), so the web app sends it as it is made and the CLI
writes it to a file (:func:`write`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from core.errors import InvalidInputError
from core.export import csv_export, html_export, pdf_export, zip_export
from core.export.selection import (
    MAX_EXPORT_ITEMS,
    Selection,
    export_frame,
    from_board,
    from_cluster,
    from_ids,
    from_tag,
    slug,
)
from core.workspace import Workspace

__all__ = ["FORMATS", "MAX_EXPORT_ITEMS", "MEDIA_TYPES", "Selection", "export_frame", "filename", "from_board",
           "from_cluster", "from_ids", "from_tag", "stream", "write"]

Writer = Callable[[Workspace, Selection, pd.DataFrame], Iterator[bytes]]
FORMATS: dict[str, Writer] = {
    "csv": lambda ws, sel, frame: csv_export.csv_chunks(frame),
    "zip": zip_export.zip_chunks,
    "pdf": pdf_export.pdf_chunks,
    "html": html_export.html_chunks,
}
MEDIA_TYPES = {"csv": csv_export.MEDIA_TYPE, "zip": zip_export.MEDIA_TYPE, "pdf": pdf_export.MEDIA_TYPE,
               "html": html_export.MEDIA_TYPE}


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown export format {str(fmt)[:20]!r}; use one of: {', '.join(FORMATS)}")
    return fmt


def stream(ws: Workspace, selection: Selection, fmt: str, run_id: str = "default") -> Iterator[bytes]:
    """The export of ``selection`` in ``fmt`` as byte chunks.

    The table is built and the look-book's size checked before the first chunk, so a bad
    request fails before anything is sent.
    """
    _check_format(fmt)
    frame = export_frame(ws, selection, run_id)
    if fmt == "pdf" and len(frame) > pdf_export.MAX_LOOKBOOK_PIECES:
        raise InvalidInputError(f"a look-book takes at most {pdf_export.MAX_LOOKBOOK_PIECES} pieces; this one has "
                                f"{len(frame)} (export it as a ZIP or split the board)")
    return FORMATS[fmt](ws, selection, frame)


def filename(selection: Selection, fmt: str) -> str:
    """The download's file name: ``<slug of the title>.<fmt>``."""
    return f"{slug(selection.title, selection.kind)}.{_check_format(fmt)}"


def write(ws: Workspace, selection: Selection, fmt: str, out: str | Path, run_id: str = "default") -> int:
    """Write the export to ``out`` (through a temporary file, then renamed); returns its size."""
    out = Path(out)
    chunks = stream(ws, selection, fmt, run_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    size = 0
    try:
        with open(tmp, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                size += len(chunk)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return size
