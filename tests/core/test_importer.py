"""Imports: staging checks (ZIP entries, sizes, CSV rows) and ingestion of the staged files,
URLs fetched from a real local HTTP server through the SSRF guard."""

from __future__ import annotations

import io
import socket
import stat
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from core.errors import InvalidInputError
from core.fetch import FetchPolicy
from core.importer import ImportLimits, ingest_staged, last_summary, stage, stage_path
from core.workspace import Workspace


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", size, colour)
    img.putpixel((0, 0), (colour[2], colour[0], colour[1]))
    img.save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def make_zip(entries: dict[str, bytes], *, symlinks: dict[str, str] | None = None,
             compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


def reasons(summary_or_plan: list[dict[str, str]]) -> dict[str, str]:
    return {s["source"]: s["reason"] for s in summary_or_plan}


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "coll")


def run_import(ws: Workspace, **kwargs) -> dict:
    folder = stage(ws.root, **kwargs)
    summary = ingest_staged(ws, folder, policy=kwargs.pop("policy", None))
    assert not folder.exists()
    return summary.to_dict()


def test_zip_with_csv_of_labels_imports_photos_with_their_metadata(ws: Workspace) -> None:
    csv_text = "file,label,colour,item_id,season\nred.jpg,Dress,red,P-1,SS25\nblue/b.jpg,Shoes,blue,P-2,\n"
    data = make_zip({"red.jpg": jpeg((200, 0, 0)), "blue/b.jpg": jpeg((0, 0, 200)), "green.jpg": jpeg((0, 200, 0)),
                     "again.jpg": jpeg((200, 0, 0)), "labels.csv": csv_text.encode(), "__MACOSX/._red.jpg": b"x"})
    summary = run_import(ws, uploads=[("season.zip", data)])
    assert summary["added"] == 3 and summary["duplicates"] == 1 and summary["skipped"] == []
    assert summary["duplicate_sources"] == ["season.zip:again.jpg"]
    items = ws.items().set_index("source")
    assert items.loc["season.zip:red.jpg", "label"] == "Dress"
    assert items.loc["season.zip:red.jpg", "product_id"] == "P-1"
    assert items.loc["season.zip:blue/b.jpg", "colour"] == "blue"
    assert pd.isna(items.loc["season.zip:green.jpg", "label"])
    assert last_summary(ws.root)["added"] == 3
    # the same ZIP again: all duplicates, nothing added
    again = run_import(ws, uploads=[("season.zip", data)])
    assert again["added"] == 0 and again["duplicates"] == 4
    assert len(ws.items()) == 3


def test_zip_with_dotdot_absolute_symlink_and_nested_entries_refuses_each_by_name(ws: Workspace) -> None:
    data = make_zip({"../evil.jpg": jpeg((1, 2, 3)), "/etc/abs.jpg": jpeg((4, 5, 6)), "ok/../../up.jpg": jpeg((7, 8, 9)),
                     "inner.zip": make_zip({"x.jpg": jpeg((9, 9, 9))}), "good.jpg": jpeg((100, 50, 0)),
                     "notes.txt": b"hello"},
                    symlinks={"link.jpg": "/etc/passwd"})
    folder = stage(ws.root, uploads=[("bad.zip", data)])
    assert not (ws.root.parent / "evil.jpg").exists() and not Path("/etc/abs.jpg").exists()
    got = reasons(ingest_staged(ws, folder).skipped)
    assert "leaves the archive" in got["bad.zip:../evil.jpg"]
    assert "leaves the archive" in got["bad.zip:ok/../../up.jpg"]
    assert "absolute" in got["bad.zip:/etc/abs.jpg"]
    assert "symbolic link" in got["bad.zip:link.jpg"]
    assert "nested archive" in got["bad.zip:inner.zip"]
    assert "not an image" in got["bad.zip:notes.txt"]
    assert ws.items()["source"].tolist() == ["bad.zip:good.jpg"]


def test_zip_bomb_entry_is_refused_by_its_compression_ratio(ws: Workspace) -> None:
    bomb = b"\0" * (8 * 2**20)  # 8 MB of zeros deflate to about 8 kB
    data = make_zip({"bomb.jpg": bomb, "good.jpg": jpeg((10, 200, 10))})
    assert len(data) < 100_000
    folder = stage(ws.root, uploads=[("bomb.zip", data)])
    got = reasons(ingest_staged(ws, folder).skipped)
    assert "compression ratio" in got["bomb.zip:bomb.jpg"] and "over the cap" in got["bomb.zip:bomb.jpg"]
    assert len(ws.items()) == 1


def test_zip_of_zero_images_is_a_clear_error_and_stages_nothing(ws: Workspace) -> None:
    data = make_zip({"readme.txt": b"no photos here", "data.json": b"{}"})
    with pytest.raises(InvalidInputError, match=r"holds no images.*readme\.txt: not an image file type"):
        stage(ws.root, uploads=[("empty.zip", data)])
    assert not any((ws.root / "staging").iterdir())
    with pytest.raises(InvalidInputError, match="not a readable ZIP"):
        stage(ws.root, uploads=[("broken.zip", b"PK\x03\x04 not really")])


def test_import_over_the_size_caps_is_refused_before_work(ws: Workspace, tmp_path: Path) -> None:
    limits = ImportLimits(max_import_bytes=50_000, max_file_bytes=30_000)
    big = [(f"p{i}.jpg", b"\xff" * 20_000) for i in range(3)]
    with pytest.raises(InvalidInputError, match="over its size cap"):
        stage(ws.root, uploads=big, limits=limits)
    # a ZIP whose entries add up past the cap (counted uncompressed, from its directory)
    entries = {f"n{i}.jpg": jpeg((i, i, i), size=(300, 300)) for i in range(5)}
    total = sum(len(v) for v in entries.values())
    with pytest.raises(InvalidInputError, match="over its size cap"):
        stage(ws.root, uploads=[("many.zip", make_zip(entries, compression=zipfile.ZIP_STORED))],
              limits=ImportLimits(max_import_bytes=total - 1))
    # one photo over the per-file cap is skipped by name, the rest staged
    folder = stage(ws.root, uploads=[("huge.jpg", b"\xff" * 40_000), ("ok.jpg", jpeg((5, 5, 200)))], limits=limits)
    got = reasons(ingest_staged(ws, folder).skipped)
    assert "too large" in got["huge.jpg"]
    assert not any((ws.root / "staging").iterdir())
    # the CLI's path: a file over the cap is refused from its size on disk
    path = tmp_path / "big.zip"
    path.write_bytes(b"\0" * 60_000)
    with pytest.raises(InvalidInputError, match="over the cap"):
        stage_path(ws.root, path, limits=limits)


def test_csv_rows_naming_files_missing_from_the_zip_are_reported_each(ws: Workspace) -> None:
    csv_text = "path,label\nhere.jpg,Dress\nmissing-one.jpg,Shoes\nsub/missing-two.jpg,Hat\n"
    data = make_zip({"here.jpg": jpeg((50, 60, 70)), "meta.csv": csv_text.encode()})
    summary = run_import(ws, uploads=[("z.zip", data)])
    got = reasons(summary["skipped"])
    assert got == {"z.zip:meta.csv row 3: missing-one.jpg": "the CSV names a file that is not in the upload",
                   "z.zip:meta.csv row 4: sub/missing-two.jpg": "the CSV names a file that is not in the upload"}
    assert summary["added"] == 1 and ws.items()["label"].tolist() == ["Dress"]


def test_loose_photos_with_a_csv_and_broken_images(ws: Workspace) -> None:
    uploads = [("a.jpg", jpeg((10, 10, 10))), ("b.png", b"\x89PNG broken"), ("c.jpg", b""),
               ("labels.csv", b"filename,label\na.jpg,Coat\n"), ("doc.pdf", b"%PDF")]
    summary = run_import(ws, uploads=uploads)
    got = reasons(summary["skipped"])
    assert "truncated or corrupt" in got["upload:b.png"] or "not an image" in got["upload:b.png"]
    assert "empty file" in got["upload:c.jpg"]
    assert "not an image file type" in got["doc.pdf"]
    assert ws.items()["label"].tolist() == ["Coat"]


def test_csv_without_a_file_or_url_column_names_its_columns(ws: Workspace) -> None:
    with pytest.raises(InvalidInputError, match="columns found: name, label"):
        stage(ws.root, uploads=[("a.jpg", jpeg((1, 1, 1))), ("m.csv", b"name,label\na.jpg,x\n")])


# -- URLs ------------------------------------------------------------------------------------
class Images(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/img/"):
            n = int(self.path.rsplit("/", 1)[1].split(".")[0])
            body = jpeg((n * 20 % 256, 100, 200 - n))
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
        elif self.path == "/flaky":
            type(self).flaky += 1
            if type(self).flaky == 1:
                body = b"try again"
                self.send_response(503)
                self.send_header("Content-Type", "text/plain")
            else:
                body = jpeg((1, 200, 1))
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
        else:
            body = b"<html>no</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    flaky = 0


@pytest.fixture()
def server() -> Iterator[str]:
    Images.flaky = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Images)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_url_list_with_private_loopback_and_unreachable_addresses(ws: Workspace, server: str) -> None:
    port = server.rsplit(":", 1)[1]
    good = [f"{server}/img/{n}.jpg" for n in range(6)]
    bad = {
        "http://10.0.0.7/a.jpg": "private",
        "http://192.168.1.1/b.jpg": "private",
        f"http://127.0.0.2:{port}/img/1.jpg": "loopback",
        "http://[::1]/c.jpg": "loopback",
        "http://169.254.169.254/latest/meta-data/": "link-local",
        f"http://127.0.0.1:{closed_port()}/gone.jpg": "could not fetch",
        f"{server}/page.html": "not an image",
        "ftp://example.com/x.jpg": "only http and https",
    }
    text = "\n".join([*good[:3], "# a comment", "", *bad, *good[3:], f"{server}/flaky"])
    policy = FetchPolicy(allow_networks=("127.0.0.1/32",), timeout_s=5)
    folder = stage(ws.root, url_text=text)
    summary = ingest_staged(ws, folder, policy=policy, limits=ImportLimits(retry_wait_s=0.05))
    got = reasons(summary.skipped)
    assert set(got) == set(bad)
    for url, words in bad.items():
        assert words in got[url], (url, got[url])
    assert len(summary.added) == 7  # the six good ones and the flaky one on its retry
    assert set(ws.items()["source"]) == {*good, f"{server}/flaky"}


def test_url_list_of_only_refused_addresses_imports_nothing_and_says_why(ws: Workspace) -> None:
    folder = stage(ws.root, url_text="http://10.1.2.3/x.jpg\nhttp://127.0.0.1/y.jpg\n")
    with pytest.raises(InvalidInputError, match="nothing was imported: 2 skipped.*private address"):
        ingest_staged(ws, folder)
    assert last_summary(ws.root)["skipped"][1]["reason"] == "refusing to fetch from a loopback address"


def test_csv_of_urls_carries_metadata(ws: Workspace, server: str) -> None:
    text = f"url,label\n{server}/img/1.jpg,Dress\n{server}/img/2.jpg,Bag\n"
    folder = stage(ws.root, uploads=[("urls.csv", text.encode())])
    summary = ingest_staged(ws, folder, policy=FetchPolicy(allow_networks=("127.0.0.1/32",)))
    assert len(summary.added) == 2
    assert sorted(ws.items()["label"]) == ["Bag", "Dress"]


def test_server_folder_and_catalog_csv_through_stage_path(ws: Workspace, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(jpeg((30, 30, 30)))
    (photos / "b.jpg").write_bytes(jpeg((60, 60, 60)))
    (photos / "c.txt").write_text("x")
    summary = ingest_staged(ws, stage_path(ws.root, photos))
    assert len(summary.added) == 2 and "not an image file type" in reasons(summary.skipped)[str(photos / "c.txt")]
    catalog = tmp_path / "cat.csv"
    catalog.write_text("path,label\nphotos/a.jpg,Hat\nphotos/missing.jpg,Hat\n")
    summary = ingest_staged(ws, stage_path(ws.root, catalog))
    assert summary.duplicates == [str(photos / "a.jpg")]
    assert reasons(summary.skipped)[str(tmp_path / "photos" / "missing.jpg")] == "file not found"


def test_a_resumed_import_counts_what_it_added_before_as_added(ws: Workspace) -> None:
    """An import job stopped after its photos were merged (before its summary) and one stopped
    in the steps after the import both resume with the first run's photos counted as added."""
    import shutil

    from core.importer import begin

    ingest_staged(ws, stage(ws.root, uploads=[("old.jpg", jpeg((9, 9, 9)))]))  # already in the collection
    data = make_zip({"a.jpg": jpeg((200, 0, 0)), "b.jpg": jpeg((0, 200, 0)), "old.jpg": jpeg((9, 9, 9))})
    folder = stage(ws.root, uploads=[("more.zip", data)])
    begin(ws, folder)  # what the job's first run records before it ingests
    kept = folder.with_name(folder.name + ".kept")
    shutil.copytree(folder, kept)
    first = ingest_staged(ws, folder)
    assert len(first.added) == 2 and first.duplicates == ["more.zip:old.jpg"]
    # killed after the merge, before the summary: the staging folder is still there
    (ws.root / "imports" / f"{folder.name}.json").unlink()
    kept.rename(folder)
    resumed = ingest_staged(ws, folder)
    assert sorted(resumed.added) == sorted(first.added) and resumed.duplicates == ["more.zip:old.jpg"]
    assert len(ws.items()) == 3
    # killed in the grow/build after the import: the import's own summary is the answer
    again = ingest_staged(ws, folder)
    assert not folder.exists() and sorted(again.added) == sorted(first.added)
    assert last_summary(ws.root)["added"] == 2
