"""Limits on the work one web query may cause in a server process: pixels and concurrency.

A query image is checked for its pixel count from the file header, before any pixel is decoded
(:func:`core.images.decode_image` with ``max_pixels``), and at most ``max_concurrent`` query
images are decoded and embedded at once in one process; a query that finds no free slot within
``wait_s`` seconds is refused with :class:`~core.errors.BusyError`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from core.errors import BusyError

__all__ = ["QueryLimits", "QUERY_LIMITS", "query_slot"]


@dataclass(frozen=True)
class QueryLimits:
    """Limits of one query image.

    Attributes
    ----------
    max_pixels : width × height accepted for a query image (a 12 Mpx RGB image is 36 MB decoded).
    max_concurrent : query images decoded and embedded at once per process.
    wait_s : how long a query waits for a free slot before it is refused.
    """

    max_pixels: int = 12_000_000
    max_concurrent: int = 2
    wait_s: float = 10.0


QUERY_LIMITS = QueryLimits()
# Per-process limiter (it holds no data, only counts slots); sized once, from QUERY_LIMITS.
_SLOTS = threading.BoundedSemaphore(QUERY_LIMITS.max_concurrent)


@contextmanager
def query_slot() -> Iterator[None]:
    """Hold one of the process's query slots for a decode and embedding (not reentrant).

    Raises :class:`BusyError` when none frees up within ``QUERY_LIMITS.wait_s``.
    """
    if not _SLOTS.acquire(timeout=QUERY_LIMITS.wait_s):
        raise BusyError("the server is busy with other image queries; try again in a moment")
    try:
        yield
    finally:
        _SLOTS.release()
