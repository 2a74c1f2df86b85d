import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from core.errors import InvalidInputError, MissingArtifactError
from core.fashion_mnist import CLASS_NAMES, DEFAULT_DIR, load_fashion_mnist, write_png_folder


def write_idx(folder, images, labels, prefix="t10k"):
    folder.mkdir(parents=True, exist_ok=True)
    n, r, c = images.shape
    with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(struct.pack(">IIII", 2051, n, r, c) + images.tobytes())
    with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(struct.pack(">II", 2049, n) + labels.tobytes())


def test_reads_idx_files(tmp_path):
    imgs = np.arange(3 * 28 * 28, dtype=np.uint32).reshape(3, 28, 28).astype(np.uint8)
    write_idx(tmp_path, imgs, np.array([9, 0, 3], np.uint8))
    X, y = load_fashion_mnist("test", root=tmp_path)
    assert X.shape == (3, 28, 28) and np.array_equal(X, imgs)
    assert y.tolist() == [9, 0, 3]
    X2, y2 = load_fashion_mnist("test", root=tmp_path, limit=2)
    assert len(X2) == 2 and y2.tolist() == [9, 0]


def test_writes_pngs_and_labels_csv(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 255, (2, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "raw", imgs, np.array([1, 8], np.uint8))
    csv_path = write_png_folder(tmp_path / "out", root=tmp_path / "raw")
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "path,label,label_id"
    assert lines[1] == "images/fmnist_test_00000.png,Trouser,1"
    assert lines[2] == "images/fmnist_test_00001.png,Bag,8"
    with Image.open(tmp_path / "out" / "images" / "fmnist_test_00001.png") as im:
        assert np.array_equal(np.asarray(im), imgs[1])


def test_missing_package_names_apt_get(tmp_path):
    with pytest.raises(MissingArtifactError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("test", root=tmp_path / "nowhere")


def test_corrupt_file_rejected(tmp_path):
    write_idx(tmp_path, np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8))
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(struct.pack(">II", 9999, 2) + b"\0\0")
    with pytest.raises(InvalidInputError, match="magic 9999"):
        load_fashion_mnist("test", root=tmp_path)
    with pytest.raises(InvalidInputError, match="unknown split"):
        load_fashion_mnist("validation", root=tmp_path)


@pytest.mark.skipif(not (DEFAULT_DIR / "t10k-images-idx3-ubyte.gz").exists(), reason="dataset-fashion-mnist not installed")
def test_real_test_set_from_the_debian_package():
    X, y = load_fashion_mnist("test")
    assert X.shape == (10000, 28, 28) and X.dtype == np.uint8
    assert np.bincount(y).tolist() == [1000] * 10
    assert len(CLASS_NAMES) == 10
