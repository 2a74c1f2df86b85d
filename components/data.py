"""Read-only access to the workspace for the pages, cached by artifact version.

Every cache is keyed by (workspace root, artifact name, manifest version): a new version of an
artifact is a new key, so several gunicorn workers each hold their own read-only copy of the
same truth on disk and nothing needs invalidating.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from components.settings import workspace_path
from core.errors import StyleAtlasError
from core.workspace import Workspace

ITEM_ID_RE = re.compile(r"^[0-9a-f]{16}$")


def is_item_id(value: object) -> bool:
    """Whether ``value`` looks like an item id (16 lowercase hex characters)."""
    return isinstance(value, str) and bool(ITEM_ID_RE.match(value))


def open_workspace(path: str | Path | None = None) -> Workspace | None:
    """The app's workspace, or None when the folder or its manifest is missing or unreadable."""
    try:
        return Workspace.open(path or workspace_path())
    except StyleAtlasError:
        return None


def versions(ws: Workspace) -> dict[str, int]:
    """``{artifact name: version}`` of everything in the manifest."""
    return {name: int(rec["version"]) for name, rec in ws.manifest()["artifacts"].items()}


@dataclass(frozen=True)
class Catalog:
    """The items artifact, indexed by item id.

    Attributes
    ----------
    version : int
        The ``items`` version it was read from (0 when absent).
    frame : DataFrame
        One row per item, index ``item_id``, catalog order.
    position : dict
        ``{item_id: row number}``.
    """

    version: int
    frame: pd.DataFrame
    position: dict[str, int]

    def __len__(self) -> int:
        return len(self.frame)

    def __contains__(self, item_id: object) -> bool:
        return isinstance(item_id, str) and item_id in self.position

    def row(self, item_id: str) -> dict[str, object]:
        """The metadata of one item (NaN/None dropped)."""
        rec = self.frame.loc[item_id].to_dict()
        return {k: v for k, v in rec.items() if v is not None and not (isinstance(v, float) and pd.isna(v))}

    def label(self, item_id: str) -> str | None:
        if "label" not in self.frame.columns or item_id not in self.position:
            return None
        value = self.frame.at[item_id, "label"]
        return None if value is None or (isinstance(value, float) and pd.isna(value)) or value == "" else str(value)


@lru_cache(maxsize=8)
def _catalog(root: str, version: int) -> Catalog:
    frame = Workspace(root, create=False).items()
    frame = frame.set_index("item_id", drop=False)
    frame.index.name = None
    return Catalog(version, frame, {i: n for n, i in enumerate(frame["item_id"].tolist())})


def catalog(ws: Workspace) -> Catalog:
    """The catalog of ``ws`` (cached by the items version)."""
    return _catalog(str(ws.root), ws.version("items") or 0)


@lru_cache(maxsize=8)
def _projection(root: str, run_id: str, version: int) -> pd.DataFrame:
    from core.projection import load_projection

    return load_projection(Workspace(root, create=False), run_id)


def projection(ws: Workspace, run_id: str = "default") -> pd.DataFrame:
    """The ``projection/<run_id>`` frame (item_id, x, y), cached by version."""
    return _projection(str(ws.root), run_id, ws.version(f"projection/{run_id}") or 0)


def runs(ws: Workspace, kind: str) -> list[str]:
    """Run ids of artifacts ``<kind>/<run>`` present, ``default`` first."""
    names = [n.split("/", 1)[1] for n in ws.names(f"{kind}/")]
    return sorted(names, key=lambda r: (r != "default", r))


def hidden_ids(ws: Workspace) -> frozenset[str]:
    """Items hidden behind a kept duplicate (:mod:`core.hidden`): every gallery, result list
    and the map leave them out."""
    from core.hidden import hidden_ids as read

    return read(ws.annotations_path)


def visible(ws: Workspace, item_ids: list[str]) -> list[str]:
    """``item_ids`` without the hidden ones, order kept."""
    gone = hidden_ids(ws)
    return [i for i in item_ids if i not in gone] if gone else list(item_ids)
