"""Helpers the serving benchmarks share: a free loopback port, percentiles, and the Dash pages
callback a browser posts for a path (so a bench renders a page without a browser)."""

from __future__ import annotations

import socket
from typing import Any

import numpy as np


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of ``values`` (nan when empty)."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else float("nan")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def page_payload(pathname: str, search: str = "") -> dict[str, Any]:
    """The Dash pages callback a browser sends for ``pathname`` (``search``: its query string)."""
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [{"id": "_pages_location", "property": "pathname", "value": pathname},
                   {"id": "_pages_location", "property": "search", "value": search}],
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }
