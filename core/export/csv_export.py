"""CSV export: the selection's table (:func:`core.export.selection.export_frame`), streamed."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pandas as pd

__all__ = ["MEDIA_TYPE", "csv_chunks"]

MEDIA_TYPE = "text/csv; charset=utf-8"
ROWS_PER_CHUNK = 500


def _cell(value: object) -> object:
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):  # type: ignore[call-overload]
        return ""
    return value


def csv_chunks(frame: pd.DataFrame) -> Iterator[bytes]:
    """UTF-8 CSV of ``frame`` (header first), ``ROWS_PER_CHUNK`` rows per chunk."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(frame.columns))
    for start in range(0, len(frame), ROWS_PER_CHUNK):
        for row in frame.iloc[start:start + ROWS_PER_CHUNK].itertuples(index=False):
            writer.writerow([_cell(v) for v in row])
        yield buf.getvalue().encode("utf-8")
        buf.seek(0)
        buf.truncate()
    if buf.tell():  # the header of an empty table
        yield buf.getvalue().encode("utf-8")
