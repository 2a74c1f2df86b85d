"""First start: the demo workspace is built in a background process while the app serves, and
every page's banner shows where the build stands."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from components import build_banner
from components.bootstrap import missing_artifacts, start_build
from components.build_status import BuildStatus, StatusWriter, read_status, status_path, write_status
from core.workspace import Workspace
from tests.components.test_overview import _text


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_status_round_trip_and_progress(tmp_path: Path) -> None:
    ws = tmp_path / "demo"
    assert read_status(ws) is None  # nothing recorded
    writer = StatusWriter(ws)
    assert status_path(ws) == tmp_path / ".demo.build.json"
    writer.progress("ingest", 10, 10)
    writer.progress("embed efficientnet-lite0", 540, 1791)
    status = read_status(ws)
    assert status is not None and status.state == "building" and status.pid == os.getpid()
    assert status.step == "embed efficientnet-lite0" and (status.done, status.total) == (540, 1791)
    assert status.steps_done == ["ingest"] and 0.30 < status.fraction < 0.31
    writer.finish()
    status = read_status(ws)
    assert status is not None and status.state == "done"
    assert status.steps_done == ["ingest", "embed efficientnet-lite0"]


def test_failed_build_keeps_its_reason(tmp_path: Path) -> None:
    writer = StatusWriter(tmp_path / "demo")
    writer.progress("embed efficientnet-lite0", 3, 10)
    writer.finish(error="MissingWeightsError: no weights")
    status = read_status(tmp_path / "demo")
    assert status is not None and status.state == "failed" and "no weights" in status.error
    assert status.step == "embed efficientnet-lite0"  # where it stopped


def test_a_build_whose_process_is_gone_reads_as_interrupted(tmp_path: Path) -> None:
    write_status(tmp_path / "demo", BuildStatus("building", step="cluster", pid=_dead_pid(), started=time.time()))
    status = read_status(tmp_path / "demo")
    assert status is not None and status.state == "interrupted"


def test_a_corrupt_status_file_is_ignored(tmp_path: Path) -> None:
    status_path(tmp_path / "demo").write_text("{not json")
    assert read_status(tmp_path / "demo") is None
    status_path(tmp_path / "demo").write_text('{"state": "exploded"}')
    assert read_status(tmp_path / "demo") is None


def test_banner_shows_the_step_and_its_progress() -> None:
    status = BuildStatus("building", step="embed efficientnet-lite0", done=540, total=1791,
                         steps_done=["ingest"], started=time.time() - 75, pid=os.getpid())
    children, stop = build_banner.render(status, was_showing=False)
    text = _text(children)
    assert not stop
    assert "Building the demo catalog" in text and "embed efficientnet-lite0 — 540 / 1,791" in text
    assert "Done: ingest." in text


def test_banner_is_silent_without_a_build_and_announces_the_end_of_one() -> None:
    assert build_banner.render(None, was_showing=False) == (None, True)
    done = BuildStatus("done", started=time.time() - 300, updated=time.time(), pid=1)
    assert build_banner.render(done, was_showing=False) == (None, True)  # an old build: nothing to say
    children, stop = build_banner.render(done, was_showing=True)  # it finished while watched
    assert stop and "The demo catalog is ready" in _text(children) and "5 min" in _text(children)


def test_banner_says_why_a_build_stopped() -> None:
    failed = BuildStatus("failed", step="cluster", error="InvalidInputError: fewer items (3) than clusters")
    children, stop = build_banner.render(failed, was_showing=True)
    assert stop and "fewer items (3) than clusters" in _text(children)
    children, _ = build_banner.render(BuildStatus("interrupted", step="cluster"), was_showing=False)
    assert "Resume the build" in _text(children) and "stopped before it finished" in _text(children)


def test_nothing_to_build_starts_nothing(small_workspace: Workspace, tmp_path: Path) -> None:
    assert missing_artifacts(small_workspace.root) == []
    assert start_build(small_workspace.root, force=True) is None
    # a workspace the user named is theirs: never built behind their back
    assert start_build(tmp_path / "mine") is None and not (tmp_path / "mine").exists()


def test_a_bad_catalog_fails_the_build_with_its_reason(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.csv"
    bad.write_text("path,label\nnowhere.jpg,Dress\n")
    proc = start_build(tmp_path / "ws", force=True, source=bad)
    assert proc is not None
    assert start_build(tmp_path / "ws", force=True, source=bad) is None  # one build at a time
    assert proc.wait(timeout=120) == 1
    status = read_status(tmp_path / "ws")
    assert status is not None and status.state == "failed" and status.step == "ingest"
    assert "missing file" in status.error and "nowhere.jpg" in status.error
