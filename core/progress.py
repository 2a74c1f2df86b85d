"""The progress callback type shared by every long-running core function."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None] | None
"""``progress(done, total)``; called as work advances. ``None`` means silent."""


def report(progress: Progress, done: int, total: int) -> None:
    """Call ``progress`` if one was given."""
    if progress is not None:
        progress(done, total)
