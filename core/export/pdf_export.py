"""Look-book PDF: a cover with the board's name and note, then one page per piece, in order,
with its image, label, cluster name and the stylist's note (A4, images at their full stored
resolution, 1024 px on the long side: about 200 dpi over the 13 cm they are printed at).

reportlab builds the document in memory until it is saved, images included (the JPEG bytes,
embedded as they are), so a look-book is capped at ``MAX_LOOKBOOK_PIECES``; it is written to a
temporary file and streamed from there.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator

import pandas as pd

from core.errors import InvalidInputError
from core.export.images import print_image
from core.export.selection import Selection
from core.workspace import Workspace

__all__ = ["MAX_LOOKBOOK_PIECES", "MEDIA_TYPE", "page_count_for", "pdf_chunks", "write_pdf"]

MEDIA_TYPE = "application/pdf"
MAX_LOOKBOOK_PIECES = 500
CHUNK = 1 << 20
FONT, FONT_BOLD = "StyleAtlasSans", "StyleAtlasSans-Bold"


def _fonts() -> tuple[str, str]:
    """Bitstream Vera (shipped with reportlab; covers accented Latin text), else Helvetica."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT, FONT_BOLD
    try:
        pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, "VeraBd.ttf"))
    except Exception:  # noqa: BLE001 - no TrueType font found: the standard PDF fonts
        return "Helvetica", "Helvetica-Bold"
    return FONT, FONT_BOLD


def _paragraph(c: object, text: str, x: float, y: float, width: float, font: str, size: float,
               leading: float, max_lines: int = 40) -> float:
    """Draw wrapped ``text`` from the top-left ``(x, y)``; returns the y below it."""
    from reportlab.lib.utils import simpleSplit

    for raw in text.splitlines() or [""]:
        for line in simpleSplit(raw, font, size, width) or [""]:
            if max_lines <= 0:
                return y
            c.setFont(font, size)  # type: ignore[attr-defined]
            c.drawString(x, y, line)  # type: ignore[attr-defined]
            y -= leading
            max_lines -= 1
    return y


def write_pdf(ws: Workspace, selection: Selection, frame: pd.DataFrame, out: object) -> int:
    """Write the look-book of ``selection`` (``frame``: its export table) to the binary file
    ``out``; returns the page count."""
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.pdfgen import canvas

    if len(frame) > MAX_LOOKBOOK_PIECES:
        raise InvalidInputError(f"a look-book takes at most {MAX_LOOKBOOK_PIECES} pieces; this one has "
                                f"{len(frame)} (export it as a ZIP or split the board)")
    from reportlab import rl_config

    rl_config.useA85 = 0  # binary streams: ASCII85 would add a quarter to every embedded JPEG
    regular, bold = _fonts()
    width, height = A4
    margin = 2 * cm
    text_w = width - 2 * margin
    c = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    c.setTitle(selection.title)
    c.setAuthor("Style Atlas")
    c.setSubject(f"look-book, {len(frame)} pieces")
    # cover
    c.setFont(bold, 30)
    y = height - 7 * cm
    y = _paragraph(c, selection.title, margin, y, text_w, bold, 30, 36, max_lines=3) - 0.6 * cm
    y = _paragraph(c, selection.note, margin, y, text_w, regular, 13, 18, max_lines=30) - 0.6 * cm
    c.setFillGray(0.4)
    _paragraph(c, f"{len(frame)} piece{'s' if len(frame) != 1 else ''} · {time.strftime('%d %B %Y')}",
               margin, y, text_w, regular, 11, 14)
    c.setFillGray(0)
    c.showPage()
    pages = 1
    total = len(frame)
    for n, row in enumerate(frame.itertuples(index=False), start=1):
        item_id = str(row.item_id)
        path = print_image(ws, item_id)
        with Image.open(path) as im:
            iw, ih = im.size
        box_w, box_h = text_w, height - 2 * margin - 6 * cm
        scale = min(box_w / iw, box_h / ih)
        dw, dh = iw * scale, ih * scale
        top = height - margin
        c.drawImage(str(path), margin + (box_w - dw) / 2, top - dh, dw, dh)
        y = top - dh - 1.0 * cm
        c.setFillGray(0.45)
        _paragraph(c, f"{n} / {total}", margin, y, text_w, regular, 9, 12)
        c.setFillGray(0)
        y -= 0.6 * cm
        label = str(row.label) or "unlabelled"
        y = _paragraph(c, label, margin, y, text_w, bold, 16, 20, max_lines=2)
        cluster = str(row.cluster_name)
        if cluster:
            c.setFillGray(0.35)
            y = _paragraph(c, cluster, margin, y, text_w, regular, 11, 15, max_lines=2)
            c.setFillGray(0)
        note = str(getattr(row, "note", "") or "")
        if note:
            y = _paragraph(c, note, margin, y - 0.2 * cm, text_w, regular, 11, 15, max_lines=8)
        c.showPage()
        pages += 1
    c.save()
    return pages


def pdf_chunks(ws: Workspace, selection: Selection, frame: pd.DataFrame) -> Iterator[bytes]:
    """The look-book as a stream of chunks (written to a temporary file first)."""
    with tempfile.TemporaryFile() as tmp:
        write_pdf(ws, selection, frame, tmp)
        tmp.seek(0)
        while chunk := tmp.read(CHUNK):
            yield chunk


def page_count_for(n_pieces: int) -> int:
    """Pages of a look-book of ``n_pieces``: the cover and one per piece."""
    return 1 + n_pieces

