import json
import subprocess
import sys

import pytest

from core.cli import main
from tests.conftest import REPO, make_image


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_and_info_json(tmp_path, capsys):
    make_image(tmp_path / "src" / "a.png")
    (tmp_path / "src" / "b.jpg").write_bytes(b"")
    ws = tmp_path / "ws"
    code, out, err = _run(capsys, "ingest", str(tmp_path / "src"), "--workspace", str(ws), "--quiet")
    assert code == 0 and "added 1" in out and "b.jpg: empty file" in err
    code, out, _ = _run(capsys, "embed", "--workspace", str(ws), "--backbone", "colour-histogram", "--quiet")
    assert code == 0
    code, out, _ = _run(capsys, "info", "--workspace", str(ws), "--json")
    info = json.loads(out)
    assert code == 0 and info["items"] == 1 and info["features"] == {"colour-histogram": 1}
    assert info["skipped"] == [{"source": str(tmp_path / "src" / "b.jpg"), "reason": "empty file (0 bytes)"}]


def test_user_mistakes_exit_2_with_one_line_and_no_traceback(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    cases = [
        ("info", "--workspace", str(f)),
        ("info", "--workspace", str(tmp_path / "missing")),
        ("ingest", str(tmp_path / "nope"), "--workspace", str(tmp_path / "ws")),
    ]
    for argv in cases:
        code, _, err = _run(capsys, *argv)
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, argv


def test_unknown_backbone_exit_code_and_message(tmp_path, capsys):
    make_image(tmp_path / "src" / "a.png")
    _run(capsys, "ingest", str(tmp_path / "src"), "-w", str(tmp_path / "ws"), "-q")
    code, _, err = _run(capsys, "embed", "-w", str(tmp_path / "ws"), "--backbone", "vgg")
    assert code == 2 and "known backbones: efficientnet-lite0" in err


def test_folder_of_only_bad_files_fails(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "x.jpg").write_text("nope")
    code, _, err = _run(capsys, "ingest", str(tmp_path / "src"), "-w", str(tmp_path / "ws"), "-q")
    assert code == 2 and "no usable image" in err


@pytest.mark.parametrize("command", ["ingest", "embed", "info", "run", "project", "backbones", "collections", "import"])
def test_every_command_has_help(command):
    proc = subprocess.run([sys.executable, "-m", "core", command, "--help"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0 and "usage: python -m core " + command in proc.stdout
