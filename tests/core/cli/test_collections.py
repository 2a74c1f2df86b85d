"""``python -m core collections`` and ``python -m core import``: the app's collections from the shell."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from core import collections
from core.cli import main
from tests.conftest import DEMO, demo_rows


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(collections.HOME_ENV, str(tmp_path / "home"))
    monkeypatch.delenv(collections.WORKSPACE_ENV, raising=False)
    return tmp_path / "home"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def demo_zip(path: Path, n: int) -> Path:
    """A ZIP of ``n`` demo photos with a labels CSV naming them (and one missing file)."""
    rows = [r for r in demo_rows() if r["label"]][:n]
    with zipfile.ZipFile(path, "w") as zf:
        for r in rows:
            zf.write(DEMO / r["path"], arcname=Path(r["path"]).name)
        lines = ["file,label"] + [f"{Path(r['path']).name},{r['label']}" for r in rows] + ["gone.jpg,Dress"]
        zf.writestr("labels.csv", "\n".join(lines) + "\n")
    return path


def test_import_creates_the_collection_and_collections_lists_it(home: Path, tmp_path: Path, capsys) -> None:
    source = demo_zip(tmp_path / "six.zip", 6)
    code, out, err = _run(capsys, "import", str(source), "--collection", "Spring Drop", "--no-build", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["created"] and got["collection"]["slug"] == "spring-drop"
    assert got["added"] == 6 and got["items"] == 6
    assert got["skipped"] == [{"source": "six.zip:labels.csv row 8: gone.jpg",
                               "reason": "the CSV names a file that is not in the upload"}]
    code, out, _ = _run(capsys, "collections", "--json")
    listed = json.loads(out)["collections"]
    assert [(c["slug"], c["name"], c["items"]) for c in listed] == [("spring-drop", "Spring Drop", 6)]
    # the same source again, by slug: only duplicates
    code, out, err = _run(capsys, "import", str(source), "-c", "spring-drop", "--no-build", "--quiet")
    assert code == 0 and "duplicates 6" in out and "gone.jpg" in err
    code, out, _ = _run(capsys, "collections")
    assert "spring-drop" in out and "6 photos" in out


def test_import_mistakes_are_one_line_errors(home: Path, tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "nothing")
    empty.write_bytes(buf.getvalue())
    for argv, words in [
        (("import", str(empty), "-c", "x", "--no-build"), "holds no images"),
        (("import", str(tmp_path / "nope.zip"), "-c", "x"), "does not exist"),
        (("import", str(empty), "-c", "a/../b"), "cannot contain '/'"),
        (("import", str(empty), "-c", "y" * 300), "300 characters"),
    ]:
        code, _, err = _run(capsys, *argv)
        assert code == 2 and err.startswith("error: ") and words in err and err.count("\n") == 1, (argv, err)
    assert collections.list_collections() == []  # a failed import leaves no empty collection


def test_import_runs_as_the_collections_job_and_waits_for_the_one_running_there(home: Path, tmp_path: Path) -> None:
    """``python -m core import`` goes through core.jobs: while the app's job runs on the
    collection it waits (and says so), then its own import job runs and reports."""
    import os
    import subprocess
    import sys
    import time

    import core.jobs as jobs
    from tests.core.jobs.test_jobs import wait_for

    root = collections.create("Busy").root
    store = jobs.JobStore()
    other = store.insert(root, "grow", {})
    store.claim_next(root, os.getpid())  # this test stands in for the app's worker
    store.update(other.id, step="embed efficientnet-lite0", heartbeat=time.time() + 600)
    source = demo_zip(tmp_path / "two.zip", 2)
    proc = subprocess.Popen([sys.executable, "-m", "core", "import", str(source), "-c", "busy", "--no-build"],
                            cwd=str(Path(__file__).resolve().parents[3]), env={**os.environ},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    while line and "waiting for the grow job" not in line:
        line = proc.stderr.readline()
    assert "waiting for the grow job running on this collection (embed efficientnet-lite0)" in line
    mine = [j for j in jobs.history(root) if j.kind == "import"]
    assert len(mine) == 1 and mine[0].state == "queued"  # never beside the running job
    store.update(other.id, state="done")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "into collection 'busy' (Busy): added 2, duplicates 0, skipped 1" in out
    done = wait_for(mine[0].id, ("done",))
    assert done.result["import"]["added"] == 2 and "import" in done.steps_done
