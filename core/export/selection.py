"""What to export: a board, a tag, a cluster, a tray or a result list, as an ordered selection.

Every builder checks its input against the workspace (ids not in the catalog are dropped, a
selection over ``MAX_EXPORT_ITEMS`` is refused before any work) and keeps the order the
stylist sees: a board's order, tagging order, a cluster's most confident members first, a
tray's or a result list's own order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.annotations import Annotations
from core.boards import Boards
from core.errors import InvalidInputError
from core.item_table import item_table
from core.workspace import Workspace

__all__ = ["KINDS", "MAX_EXPORT_ITEMS", "Selection", "export_frame", "from_board", "from_cluster", "from_ids",
           "from_tag", "slug"]

MAX_EXPORT_ITEMS = 2000
KINDS = ("board", "tag", "cluster", "tray", "results")


@dataclass(frozen=True)
class Selection:
    """An ordered set of items to export.

    Attributes
    ----------
    kind : one of ``KINDS``.
    title : what the export is called (a board's name, ``tag “red”``, a cluster's name).
    note : a board's note ('' otherwise).
    item_ids : the items, in order, each in the catalog.
    notes : ``{item id: note}`` of a board's pieces.
    scores : ``{item id: score}`` of a result list.
    """

    kind: str
    title: str
    item_ids: tuple[str, ...]
    note: str = ""
    notes: Mapping[str, str] = field(default_factory=dict)
    scores: Mapping[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.item_ids)


def slug(text: str, default: str = "export") -> str:
    """A file-name-safe version of ``text`` (letters, digits, ``-``), at most 60 characters."""
    out = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:60].strip("-")
    return out or default


def _in_catalog(ws: Workspace, item_ids: Iterable[str]) -> list[str]:
    known = set(ws.items()["item_id"].astype(str))
    seen: set[str] = set()
    out = []
    for i in item_ids:
        if isinstance(i, str) and i in known and i not in seen:
            seen.add(i)
            out.append(i)
    return out


def _check_size(n: int) -> None:
    if n > MAX_EXPORT_ITEMS:
        raise InvalidInputError(f"an export takes at most {MAX_EXPORT_ITEMS} items; this one has {n}")


def from_board(ws: Workspace, board: str | int, scratch_id: str | None = None) -> Selection:
    """A board (by id or name) that the visitor sees (shared, or their own scratch board)."""
    b = Boards(ws.annotations_path, scratch_id).find(str(board))
    ids = _in_catalog(ws, b.item_ids)
    _check_size(len(ids))
    return Selection("board", b.name, tuple(ids), b.note, {i.item_id: i.note for i in b.items if i.note})


def from_tag(ws: Workspace, tag: str) -> Selection:
    """The items carrying a shared tag, in tagging order."""
    ids = _in_catalog(ws, Annotations(ws.annotations_path).items_with_tag(" ".join(str(tag).split())))
    if not ids:
        raise InvalidInputError(f"no item in the catalog has the tag {str(tag)[:64]!r}")
    _check_size(len(ids))
    return Selection("tag", f"tag {tag}", tuple(ids))


def from_cluster(ws: Workspace, cluster: str | int, run_id: str = "default") -> Selection:
    """The members of a cluster of run ``run_id``, most confident first, titled by its name."""
    table = item_table(ws, run_id)
    try:
        c = int(str(cluster).strip())
    except ValueError:
        raise InvalidInputError(f"invalid cluster {str(cluster)[:40]!r}: give its number") from None
    rows = table[table["cluster"].eq(c).fillna(False).to_numpy(dtype=bool)]
    if rows.empty:
        raise InvalidInputError(f"there is no cluster {c}" + ("" if ws.has(f"clusters/{run_id}")
                                                             else " (the catalog has not been clustered)"))
    rows = rows.sort_values("confidence", ascending=False, kind="stable")
    _check_size(len(rows))
    name = str(rows["cluster_name"].iloc[0])
    return Selection("cluster", f"cluster {c} · {name}" if name else f"cluster {c}", tuple(rows["item_id"]))


def from_ids(ws: Workspace, item_ids: Iterable[str], kind: str = "tray", title: str = "selection",
             scores: Mapping[str, float] | None = None) -> Selection:
    """A tray or a result list (ids from the browser: checked, size first, then the catalog)."""
    if kind not in ("tray", "results"):
        raise InvalidInputError(f"unknown selection kind {kind!r}")
    raw = list(item_ids)[: MAX_EXPORT_ITEMS + 1]
    _check_size(len(raw))
    ids = _in_catalog(ws, raw)
    if not ids:
        raise InvalidInputError("nothing to export: select some photos first")
    kept = {i: float(s) for i, s in (scores or {}).items() if i in set(ids) and np.isfinite(float(s))}
    return Selection(kind, title, tuple(ids), scores=kept)


def export_frame(ws: Workspace, selection: Selection, run_id: str = "default") -> pd.DataFrame:
    """The export's table, one row per item in the selection's order.

    Columns: item_id, source, label, cluster, cluster_name, tags, then ``score`` (a result
    list) and ``note`` (a board), then every other catalog column.
    """
    table = item_table(ws, run_id)
    rows = table.loc[list(selection.item_ids)].reset_index(drop=True)
    at = list(rows.columns).index("tags") + 1
    if selection.scores:
        rows.insert(at, "score", [selection.scores.get(i, float("nan")) for i in rows["item_id"]])
        at += 1
    if selection.kind == "board":
        rows.insert(at, "note", [selection.notes.get(i, "") for i in rows["item_id"]])
    return rows
