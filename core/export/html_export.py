"""Look-book as one self-contained HTML file: the cover and the pieces in order, each image
inlined (base64), so the file can be sent as it is. Streamed one piece at a time."""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Iterator

import pandas as pd

from core.export.images import print_image
from core.export.selection import Selection
from core.workspace import Workspace

__all__ = ["MEDIA_TYPE", "html_chunks"]

MEDIA_TYPE = "text/html; charset=utf-8"

_STYLE = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:4rem 2rem 2rem;max-width:60rem;margin:auto}
header h1{font-size:2.4rem;margin:0 0 1rem} header p{white-space:pre-wrap;font-size:1.1rem;line-height:1.5}
.meta{color:#777;font-size:.9rem}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr));gap:1.5rem;padding:2rem;max-width:80rem;margin:auto}
figure{margin:0;background:#fff;box-shadow:0 1px 4px rgba(0,0,0,.12);border-radius:6px;overflow:hidden;break-inside:avoid}
figure img{width:100%;display:block;background:#eee}
figcaption{padding:.8rem 1rem}
.n{color:#999;font-size:.8rem} .label{font-weight:600;font-size:1.05rem} .cluster{color:#666;font-size:.9rem}
.note{white-space:pre-wrap;margin-top:.4rem}
@media print{main{display:block} figure{page-break-after:always;box-shadow:none} body{background:#fff}}
"""


def html_chunks(ws: Workspace, selection: Selection, frame: pd.DataFrame) -> Iterator[bytes]:
    """The HTML look-book of ``selection`` (``frame``: its export table), one piece per chunk."""
    esc = html.escape
    total = len(frame)
    yield (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(selection.title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{esc(selection.title)}</h1>"
        + (f"<p>{esc(selection.note)}</p>" if selection.note else "")
        + f"<div class=\"meta\">{total} piece{'s' if total != 1 else ''} · {time.strftime('%d %B %Y')}"
        " · Style Atlas</div></header><main>\n"
    ).encode("utf-8")
    for n, row in enumerate(frame.itertuples(index=False), start=1):
        data = base64.b64encode(print_image(ws, str(row.item_id)).read_bytes()).decode("ascii")
        label = str(row.label) or "unlabelled"
        note = str(getattr(row, "note", "") or "")
        parts = [
            f"<figure data-item=\"{esc(str(row.item_id))}\">",
            f"<img alt=\"{esc(label)}\" src=\"data:image/jpeg;base64,{data}\">",
            f"<figcaption><div class=\"n\">{n} / {total}</div><div class=\"label\">{esc(label)}</div>",
            f"<div class=\"cluster\">{esc(str(row.cluster_name))}</div>" if str(row.cluster_name) else "",
            f"<div class=\"note\">{esc(note)}</div>" if note else "",
            "</figcaption></figure>\n",
        ]
        yield "".join(parts).encode("utf-8")
    yield b"</main></body></html>\n"
