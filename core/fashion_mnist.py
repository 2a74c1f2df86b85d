"""Fashion-MNIST from the Debian package ``dataset-fashion-mnist``.

Reads the idx ``.gz`` files with numpy + gzip and can write them as PNGs plus a labels CSV
so the normal ingest path takes them in.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError, MissingArtifactError

DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_FILES = {
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
}


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Read one gzipped idx file; ``magic`` is 2051 for images, 2049 for labels."""
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 8:
        raise InvalidInputError(f"{path} is truncated")
    got = int.from_bytes(data[0:4], "big")
    if got != magic:
        raise InvalidInputError(f"{path}: idx magic {got}, expected {magic}")
    n = int.from_bytes(data[4:8], "big")
    if magic == 2051:
        rows = int.from_bytes(data[8:12], "big")
        cols = int.from_bytes(data[12:16], "big")
        arr = np.frombuffer(data, dtype=np.uint8, offset=16)
        if arr.size != n * rows * cols:
            raise InvalidInputError(f"{path} is truncated ({arr.size} of {n * rows * cols} bytes)")
        return arr.reshape(n, rows, cols)
    arr = np.frombuffer(data, dtype=np.uint8, offset=8)
    if arr.size != n:
        raise InvalidInputError(f"{path} is truncated ({arr.size} of {n} labels)")
    return arr.copy()


def load_fashion_mnist(
    split: str = "test", root: Path | str = DEFAULT_DIR, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Load a Fashion-MNIST split.

    Parameters
    ----------
    split : {"test", "train"}
    root : folder holding the idx ``.gz`` files.
    limit : keep only the first ``limit`` images.

    Returns
    -------
    images : (N, 28, 28) uint8
    labels : (N,) uint8, 0..9 (see ``CLASS_NAMES``)
    """
    if split not in _FILES:
        raise InvalidInputError(f"unknown split {split!r}; use 'test' or 'train'")
    root = Path(root)
    img_name, lab_name = _FILES[split]
    img_path, lab_path = root / img_name, root / lab_name
    if not img_path.is_file() or not lab_path.is_file():
        raise MissingArtifactError(
            f"Fashion-MNIST files not found in {root}; install them with "
            "`sudo apt-get install dataset-fashion-mnist`"
        )
    images = _read_idx(img_path, 2051)
    labels = _read_idx(lab_path, 2049)
    if len(images) != len(labels):
        raise InvalidInputError(f"{len(images)} images but {len(labels)} labels in {root}")
    if limit is not None:
        if limit < 1:
            raise InvalidInputError(f"limit must be >= 1, got {limit}")
        images, labels = images[:limit], labels[:limit]
    return images, labels


def write_png_folder(
    out_dir: Path | str,
    split: str = "test",
    root: Path | str = DEFAULT_DIR,
    limit: int | None = None,
) -> Path:
    """Write a split as ``out_dir/images/fmnist_<split>_<i>.png`` plus ``out_dir/labels.csv``.

    The CSV has columns ``path`` (relative to ``out_dir``), ``label`` (class name) and
    ``label_id``, in dataset order. Returns the CSV path.
    """
    from PIL import Image

    images, labels = load_fashion_mnist(split, root, limit)
    out_dir = Path(out_dir)
    img_dir = out_dir / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "labels.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "label_id"])
        for i, (img, lab) in enumerate(zip(images, labels)):
            rel = f"images/fmnist_{split}_{i:05d}.png"
            Image.fromarray(img, mode="L").save(img_dir / rel.split("/", 1)[1])
            writer.writerow([rel, CLASS_NAMES[int(lab)], int(lab)])
    return csv_path
