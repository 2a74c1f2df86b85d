"""Each export format: the CSV's columns and rows, the ZIP's members, the look-book PDF's pages
and images (in the board's order), the self-contained HTML; streaming and bad requests."""

from __future__ import annotations

import base64
import csv
import io
import re
import zipfile
from pathlib import Path

import pytest

from core import export
from core.boards import Boards
from core.errors import InvalidInputError
from core.export.images import original_bytes
from core.item_table import FIXED_COLUMNS
from core.workspace import Workspace


def _board(ws: Workspace):
    return Boards(ws.annotations_path).find("Edit")


def _bytes(ws: Workspace, sel: export.Selection, fmt: str) -> bytes:
    return b"".join(export.stream(ws, sel, fmt))


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_csv_of_a_board_has_its_columns_and_rows_in_order(export_ws: Workspace) -> None:
    board = _board(export_ws)
    data = _bytes(export_ws, export.from_board(export_ws, board.name), "csv")
    header = data.decode().splitlines()[0].split(",")
    assert header[: len(FIXED_COLUMNS) + 1] == [*FIXED_COLUMNS, "note"]
    assert {"price", "season", "width", "height", "dominant_colour", "colour_family"} <= set(header)
    rows = _csv_rows(data)
    assert [r["item_id"] for r in rows] == board.item_ids
    items = export_ws.items().set_index("item_id")
    for r in rows:
        assert r["label"] == (items.at[r["item_id"], "label"] or "")
        assert r["source"] == items.at[r["item_id"], "source"]
        assert r["cluster"].isdigit() and r["cluster_name"]
        assert r["price"] == str(items.at[r["item_id"], "price"])
    notes = {r["item_id"]: r["note"] for r in rows}
    assert notes[board.item_ids[1]] == "with the straw hat" and notes[board.item_ids[0]] == ""
    assert [r["tags"] for r in rows] == ["", "red", "red", ""]


def test_csv_of_results_has_scores_and_of_a_tag_and_cluster_their_items(export_ws: Workspace) -> None:
    ids = export_ws.items()["item_id"].tolist()
    sel = export.from_ids(export_ws, [ids[5], "0" * 16, ids[1], ids[5]], "results", "results",
                          scores={ids[5]: 0.9, ids[1]: 0.5})
    rows = _csv_rows(_bytes(export_ws, sel, "csv"))
    assert [(r["item_id"], r["score"]) for r in rows] == [(ids[5], "0.9"), (ids[1], "0.5")]  # unknown id dropped
    assert "note" not in rows[0]
    tag_rows = _csv_rows(_bytes(export_ws, export.from_tag(export_ws, "red"), "csv"))
    assert [r["item_id"] for r in tag_rows] == [ids[0], ids[6]]
    c = int(tag_rows[0]["cluster"])
    cluster_rows = _csv_rows(_bytes(export_ws, export.from_cluster(export_ws, c), "csv"))
    assert cluster_rows and {r["cluster"] for r in cluster_rows} == {str(c)}
    conf = [float(r["confidence"]) for r in cluster_rows]
    assert conf == sorted(conf, reverse=True)  # most confident first


def test_zip_holds_the_originals_in_order_with_the_csv(export_ws: Workspace) -> None:
    board = _board(export_ws)
    sel = export.from_board(export_ws, board.board_id)
    chunks = list(export.stream(export_ws, sel, "zip"))
    assert len(chunks) > len(board.item_ids)  # streamed: at least one chunk per image
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as zf:
        names = zf.namelist()
        assert names[-1] == "catalog.csv" and len(names) == len(board.item_ids) + 1
        rows = _csv_rows(zf.read("catalog.csv"))
        assert [r["file"] for r in rows] == names[:-1]
        assert [r["item_id"] for r in rows] == board.item_ids
        items = export_ws.items().set_index("item_id")
        for name, item_id in zip(names[:-1], board.item_ids, strict=True):
            assert re.fullmatch(rf"images/\d{{4}}-[a-z-]+-{item_id}\.jpg", name)
            assert zf.read(name) == Path(items.at[item_id, "source"]).read_bytes()  # the original file
        assert zf.testzip() is None


def test_zip_falls_back_to_the_stored_copy_when_the_original_is_gone(export_ws: Workspace, tmp_path: Path) -> None:
    item_id = export_ws.items()["item_id"].iloc[0]
    changed = tmp_path / "p0.jpg"
    changed.write_bytes(b"not the same photo")
    for source in ("/no/such/file.png", str(changed), "upload:x.png"):
        data, ext = original_bytes(export_ws, item_id, source)
        assert (data, ext) == (export_ws.image_path(item_id).read_bytes(), ".jpg")


def test_lookbook_pdf_pages_and_images_are_the_boards_in_order(export_ws: Workspace) -> None:
    from pypdf import PdfReader

    board = _board(export_ws)
    reader = PdfReader(io.BytesIO(_bytes(export_ws, export.from_board(export_ws, board.name), "pdf")))
    assert len(reader.pages) == 1 + len(board.item_ids)
    cover = reader.pages[0].extract_text()
    assert "Edit" in cover and "Warm pieces for May" in cover and "4 pieces" in cover
    assert not reader.pages[0].images
    for page, item_id in zip(reader.pages[1:], board.item_ids, strict=True):
        [xobject] = page["/Resources"]["/XObject"].values()
        assert xobject.get_object().get_data() == export_ws.image_path(item_id).read_bytes()  # as stored, in order
    text = reader.pages[2].extract_text()
    assert "2 / 4" in text and "Dress" in text and "with the straw hat" in text


def test_lookbook_html_is_self_contained_and_in_order(export_ws: Workspace) -> None:
    board = _board(export_ws)
    chunks = list(export.stream(export_ws, export.from_board(export_ws, board.name), "html"))
    assert len(chunks) == len(board.item_ids) + 2  # head, one per piece, tail
    page = b"".join(chunks).decode()
    assert "<h1>Edit</h1>" in page and "Warm pieces for May\nsecond line" in page
    assert re.findall(r'data-item="([0-9a-f]{16})"', page) == board.item_ids
    images = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', page)
    assert [base64.b64decode(i) for i in images] == [export_ws.image_path(i).read_bytes() for i in board.item_ids]
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from elsewhere
    assert "with the straw hat" in page


def test_write_and_bad_requests(export_ws: Workspace, tmp_path: Path) -> None:
    sel = export.from_tag(export_ws, "red")
    out = tmp_path / "out" / "red.csv"
    assert export.write(export_ws, sel, "csv", out) == out.stat().st_size
    assert export.filename(sel, "zip") == "tag-red.zip"
    assert not list(out.parent.glob(".*tmp*"))
    with pytest.raises(InvalidInputError, match="unknown export format 'docx'"):
        export.stream(export_ws, sel, "docx")
    with pytest.raises(InvalidInputError, match="no item in the catalog has the tag"):
        export.from_tag(export_ws, "nope")
    with pytest.raises(InvalidInputError, match="no cluster 99"):
        export.from_cluster(export_ws, 99)
    with pytest.raises(InvalidInputError, match="give its number"):
        export.from_cluster(export_ws, "../1")
    with pytest.raises(InvalidInputError, match="at most 2000 items"):
        export.from_ids(export_ws, [f"{n:016x}" for n in range(2001)])
    with pytest.raises(InvalidInputError, match="select some photos"):
        export.from_ids(export_ws, ["zz"])
    with pytest.raises(InvalidInputError, match="no board named"):
        export.from_board(export_ws, "nope")


def test_cli_lists_boards_and_exports(export_ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import json

    from core.cli import main

    assert main(["boards", "--workspace", str(export_ws.root), "--json"]) == 0
    [board] = json.loads(capsys.readouterr().out)["boards"]
    assert (board["name"], board["items"]) == ("Edit", 4)
    for what in (["--board", "Edit"], ["--tag", "red"], ["--cluster", "0"]):
        out = tmp_path / f"{what[0][2:]}.zip"
        assert main(["export", "--workspace", str(export_ws.root), *what, "--format", "zip", "--out", str(out),
                     "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["bytes"] == out.stat().st_size and zipfile.is_zipfile(out)
    assert main(["export", "--workspace", str(export_ws.root), "--board", "nope", "--format", "pdf", "--out",
                 str(tmp_path / "x.pdf")]) == 2
    assert "error: there is no board named 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()
