"""Which image file an export uses for an item: its original, or the workspace's own copy."""

from __future__ import annotations

import hashlib
from pathlib import Path

from core.workspace import Workspace

__all__ = ["original_bytes", "print_image"]


def original_bytes(ws: Workspace, item_id: str, source: str) -> tuple[bytes, str]:
    """``(bytes, extension)`` of the item's original file when it is still there unchanged (its
    content hash is the item id), else of the workspace's normalised copy (``.jpg``)."""
    path = Path(source) if source and not source.startswith("upload:") else None
    if path is not None and path.is_file():
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        if data and hashlib.sha256(data).hexdigest()[:16] == item_id:
            return data, path.suffix.lower() or ".jpg"
    return ws.image_path(item_id).read_bytes(), ".jpg"


def print_image(ws: Workspace, item_id: str) -> Path:
    """The file a look-book prints: the normalised copy (JPEG, 1024 px long side)."""
    return ws.image_path(item_id)
