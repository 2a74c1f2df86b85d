"""The fashion vocabulary names are drawn from: ImageNet classes that are garments, footwear,
bags or accessories, each mapped to the word a stylist would write and its family.

The table is ``core/data/fashion_vocabulary.csv`` (``imagenet_index, imagenet_name, word,
family``; the one source); every other ImageNet class ("plastic bag", "knee pad", "wool") is
outside the vocabulary and never named. Read lazily, once per process, and checked against
the ImageNet class list so an index cannot drift from its class.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.imagenet import N_CLASSES, class_name

_PATH = Path(__file__).resolve().parent.parent / "data" / "fashion_vocabulary.csv"


@dataclass(frozen=True)
class Vocabulary:
    """word (1000,) object: stylist word of each ImageNet class, "" outside the vocabulary;
    family (1000,) object: its family ("tops", "footwear", ...), "" outside."""

    word: np.ndarray
    family: np.ndarray

    @property
    def words(self) -> tuple[str, ...]:
        """Every stylist word, sorted."""
        return tuple(sorted({w for w in self.word if w}))

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(sorted({f for f in self.family if f}))


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The table as arrays indexed by ImageNet class; RuntimeError when it disagrees with the
    ImageNet class names (a broken install, not user input)."""
    word = np.full(N_CLASSES, "", dtype=object)
    family = np.full(N_CLASSES, "", dtype=object)
    with _PATH.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            i = int(row["imagenet_index"])
            if class_name(i) != row["imagenet_name"]:
                raise RuntimeError(f"{_PATH}: class {i} is {class_name(i)!r}, not {row['imagenet_name']!r}")
            word[i], family[i] = row["word"].strip(), row["family"].strip()
    return Vocabulary(word, family)
