"""Readable names of the 1000 ImageNet-1k classes (standard index order).

The list (``core/data/imagenet_classes.txt``, one name per line, 0 = tench ... 999 = toilet
tissue) is the public WordNet-derived short-name list used by Keras / PyTorch Hub.
It is read lazily, once per process.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from core.errors import InvalidInputError

_PATH = Path(__file__).with_name("data") / "imagenet_classes.txt"
N_CLASSES = 1000


@lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    """All 1000 class names, index i = ImageNet class i."""
    names = tuple(line.strip() for line in _PATH.read_text(encoding="utf-8").splitlines())
    if len(names) != N_CLASSES:
        raise RuntimeError(f"{_PATH} holds {len(names)} names, expected {N_CLASSES}")
    return names


def class_name(i: int) -> str:
    """Short readable name of ImageNet class ``i`` (0..999), e.g. 608 -> "jean"."""
    idx = int(i)
    if not 0 <= idx < N_CLASSES:
        raise InvalidInputError(f"ImageNet class index must be in 0..999, got {i}")
    return class_names()[idx]
