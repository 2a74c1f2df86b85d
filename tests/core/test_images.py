import io
import shutil

import numpy as np
import pytest
from PIL import Image

from core.errors import InvalidImageError, InvalidInputError
from core.images import IngestConfig, decode_image, ingest, ingest_bytes, item_id_for
from core.workspace import Workspace
from tests.conftest import DEMO, make_image


def _png(mode="RGB", size=(20, 10), **kw) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, **kw).save(buf, format="PNG")
    return buf.getvalue()


def test_folder_with_bad_files_reports_each_and_ingests_the_good(tmp_path):
    src = tmp_path / "src"
    make_image(src / "good1.jpg", colour=(10, 20, 30))
    make_image(src / "sub" / "good2.png", colour=(200, 100, 0))
    (src / "empty.jpg").write_bytes(b"")
    (src / "notes.jpg").write_text("this is not an image")
    full = io.BytesIO()
    Image.new("RGB", (300, 300), (1, 2, 3)).save(full, format="JPEG")
    (src / "truncated.jpg").write_bytes(full.getvalue()[: len(full.getvalue()) // 2])
    make_image(src / "huge.png", size=(400, 300))
    (src / "readme.txt").write_text("hello")
    ws = Workspace(tmp_path / "ws")
    rep = ingest(ws, src, config=IngestConfig(max_pixels=100_000))
    reasons = {s["source"].rsplit("/", 1)[-1]: s["reason"] for s in rep.skipped}
    assert len(rep.added) == 2 and len(ws.items()) == 2
    assert "empty" in reasons["empty.jpg"]
    assert "not an image" in reasons["notes.jpg"]
    assert "truncated" in reasons["truncated.jpg"]
    assert "too many pixels" in reasons["huge.png"]
    assert "not an image file type" in reasons["readme.txt"]
    assert {s["source"] for s in ws.skipped()} == {s["source"] for s in rep.skipped}
    assert ws.items()["folder"].tolist().count("sub") == 1 and ws.items()["folder"].isna().sum() == 1


def test_same_image_twice_is_one_item_and_rerun_adds_only_new(tmp_path):
    src = tmp_path / "src"
    make_image(src / "a.jpg")
    shutil.copy(src / "a.jpg", src / "a_copy.jpg")
    ws = Workspace(tmp_path / "ws")
    first = ingest(ws, src)
    assert len(first.added) == 1 and first.existing == 1
    again = ingest(ws, src)
    assert again.added == [] and again.existing == 2
    version = ws.version("items")
    make_image(src / "b.jpg", colour=(0, 0, 255))
    third = ingest(ws, src)
    assert len(third.added) == 1 and len(ws.items()) == 2
    assert ws.version("items") == version + 1


def test_item_ids_are_content_hashes(tmp_path):
    data = (DEMO / "images").iterdir().__next__().read_bytes()
    ws = Workspace(tmp_path)
    assert ingest_bytes(ws, data, "x.jpg") == item_id_for(data)
    assert len(item_id_for(data)) == 16


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="holds no image files"):
        ingest(Workspace(tmp_path / "ws"), tmp_path / "empty")


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        ingest(Workspace(tmp_path / "ws"), tmp_path / "nope")


def test_csv_without_path_column_names_the_columns(tmp_path):
    csv = tmp_path / "cat.csv"
    csv.write_text("file,label\na.jpg,Dress\n")
    with pytest.raises(InvalidInputError, match="no 'path' column.*file, label"):
        ingest(Workspace(tmp_path / "ws"), csv)


def test_csv_with_missing_files_names_them_and_changes_nothing(tmp_path):
    make_image(tmp_path / "img" / "ok.jpg")
    csv = tmp_path / "cat.csv"
    csv.write_text("path,label\nimg/ok.jpg,Dress\nimg/gone.jpg,Pants\n")
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(InvalidInputError, match="gone.jpg"):
        ingest(ws, csv)
    assert not ws.has("items")
    rep = ingest(ws, csv, skip_missing=True)
    assert len(rep.added) == 1 and rep.skipped[0]["reason"] == "file not found"


def test_csv_metadata_is_kept_and_paths_are_relative_to_the_csv(tmp_path):
    make_image(tmp_path / "img" / "a.jpg", colour=(1, 1, 1))
    make_image(tmp_path / "img" / "b.jpg", colour=(250, 250, 250))
    csv = tmp_path / "cat.csv"
    csv.write_text("path,label,item_id,colour,season\nimg/a.jpg,Dress,p1,red,summer\nimg/b.jpg,,p1,blue,\n")
    ws = Workspace(tmp_path / "ws")
    ingest(ws, csv)
    items = ws.items().set_index("source")
    a = items.loc[str((tmp_path / "img" / "a.jpg").absolute())]
    assert a["label"] == "Dress" and a["colour"] == "red" and a["season"] == "summer" and a["product_id"] == "p1"
    assert items["label"].isna().sum() == 1  # an empty label is missing, not ""


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    decoded = decode_image(buf.getvalue())
    assert decoded.size == (20, 40)


@pytest.mark.parametrize("mode,kw", [("L", {"color": 128}), ("CMYK", {"color": (0, 255, 255, 0)}),
                                     ("P", {}), ("RGBA", {"color": (255, 0, 0, 0)}), ("LA", {"color": (10, 255)})])
def test_modes_are_converted_to_rgb(mode, kw):
    if mode == "CMYK":
        buf = io.BytesIO()
        Image.new(mode, (20, 10), **kw).save(buf, format="JPEG")
        data = buf.getvalue()
    else:
        data = _png(mode, **kw)
    image = decode_image(data)
    assert image.mode == "RGB" and image.size == (20, 10)
    if mode == "RGBA":  # fully transparent red is composited on white
        assert image.getpixel((0, 0)) == (255, 255, 255)


def test_16_bit_grey_is_scaled_to_8_bit():
    arr = (np.arange(200, dtype=np.uint16).reshape(10, 20) * 300)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    image = decode_image(buf.getvalue())
    assert image.mode == "RGB" and image.getextrema()[0] == (0, 255)


def test_bad_upload_leaves_the_catalog_as_it_was(tmp_path):
    ws = Workspace(tmp_path)
    good = ingest_bytes(ws, _png(color=(9, 9, 9)), "good.png")
    version = ws.version("items")
    with pytest.raises(InvalidImageError, match="not an image"):
        ingest_bytes(ws, b"<html>nope</html>", "bad.jpg")
    assert ws.version("items") == version and ws.items()["item_id"].tolist() == [good]


def test_thumbnails_and_normalised_copies_are_written(tmp_path):
    ws = Workspace(tmp_path)
    big = io.BytesIO()
    Image.new("RGB", (2000, 1000), (5, 5, 5)).save(big, format="PNG")
    item = ingest_bytes(ws, big.getvalue(), "big.png")
    assert max(Image.open(ws.image_path(item)).size) == 1024
    assert max(Image.open(ws.thumb_path(item)).size) == IngestConfig().thumb_size
    row = ws.items().iloc[0]
    assert (row["width"], row["height"]) == (2000, 1000) and row["dominant_colour"].startswith("#")


def test_pixel_count_is_checked_from_the_header_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 6300 x 6300 PNG (165 KiB) over the web-query cap is refused before any pixel is decoded."""
    from core.limits import QUERY_LIMITS
    from tests.conftest import png_bomb

    bomb = png_bomb()
    assert len(bomb) < 200 * 1024 and 6300 * 6300 > QUERY_LIMITS.max_pixels
    loads: list[tuple[int, int]] = []
    real_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: loads.append(self.size) or real_load(self))
    with pytest.raises(InvalidImageError, match=r"too many pixels \(6300×6300 = 39,690,000 > cap 12,000,000\)"):
        decode_image(bomb, max_pixels=QUERY_LIMITS.max_pixels)
    assert (6300, 6300) not in loads
