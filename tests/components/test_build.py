"""First start: the demo workspace is built by a build job (core.jobs) while the app serves,
and every page's banner shows where the collection's job stands."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

import core.jobs as jobs
from components import build_banner
from components.bootstrap import first_start_root, missing_artifacts, start_build
from core import collections
from core.jobs import JobRecord
from core.workspace import Workspace
from tests.components.test_overview import _text
from tests.core.jobs.test_jobs import wait_for


def _job(state: str, **kw: object) -> JobRecord:
    now = time.time()
    base = JobRecord(id="j1", root="/srv/workspaces/demo", kind="build", state=state, created=now - 75,
                     started=now - 75, heartbeat=now, updated=now, pid=os.getpid())
    return replace(base, **kw)  # type: ignore[arg-type]


def test_banner_shows_the_step_its_progress_and_the_time_left() -> None:
    job = _job("running", step="embed efficientnet-lite0", done=540, total=1791, eta_s=130.0,
               steps_done=["ingest"])
    children, stop = build_banner.render(job, was_showing=False, queued=1)
    text = _text(children)
    assert not stop
    assert "Building the demo catalog" in text and "embed efficientnet-lite0 — 540 / 1,791" in text
    assert "about 2 min left" in text and "Done: ingest." in text and "1 more job queued" in text


def test_banner_says_a_job_waits() -> None:
    children, stop = build_banner.render(_job("queued", kind="grow", root="/w/summer"), was_showing=False)
    assert not stop and "waiting for the job before it" in _text(children) and "'summer'" in _text(children)


def test_banner_is_silent_without_a_job_and_announces_the_end_of_one() -> None:
    assert build_banner.render(None, was_showing=False) == (None, True)
    done = _job("done", started=time.time() - 300, updated=time.time())
    assert build_banner.render(done, was_showing=False) == (None, True)  # an old build: nothing to say
    children, stop = build_banner.render(done, was_showing=True)  # it finished while watched
    assert stop and "The demo catalog is ready" in _text(children) and "5 min" in _text(children)


def test_banner_says_why_a_job_stopped_and_offers_to_resume() -> None:
    failed = _job("failed", step="cluster", error="InvalidInputError: fewer items (3) than clusters")
    children, stop = build_banner.render(failed, was_showing=True)
    assert stop and "fewer items (3) than clusters" in _text(children)
    children, _ = build_banner.render(_job("interrupted", step="cluster"), was_showing=False)
    assert "Resume the build" in _text(children) and "stopped before it finished" in _text(children)
    children, _ = build_banner.render(_job("cancelled", kind="recluster", error="cancelled"), was_showing=False)
    assert "Re-clustering" in _text(children) and "Resume" in _text(children)


def test_nothing_to_build_starts_nothing(small_workspace: Workspace, tmp_path: Path) -> None:
    assert missing_artifacts(small_workspace.root) == []
    assert start_build(small_workspace.root, force=True) is None
    # a workspace the user named is theirs: never built behind their back
    assert start_build(tmp_path / "mine") is None and not (tmp_path / "mine").exists()


def test_a_bad_catalog_fails_the_build_job_with_its_reason(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.csv"
    bad.write_text("path,label\nnowhere.jpg,Dress\n")
    job = start_build(tmp_path / "ws", force=True, source=bad)
    assert job is not None and job.kind == "build" and job.params["source"] == str(bad)
    assert start_build(tmp_path / "ws", force=True, source=bad) is None  # one build at a time
    failed = wait_for(job.id, ("failed", "done"), timeout=120)
    assert failed.state == "failed" and failed.step == "ingest"
    assert "missing file" in failed.error and "nowhere.jpg" in failed.error
    again = start_build(tmp_path / "ws", force=True)  # the next start resumes the same job
    assert again is not None and again.id == job.id and again.attempt == 2 and again.params["source"] == str(bad)
    wait_for(job.id, ("failed",), timeout=120)


def test_a_killed_first_start_build_reads_as_interrupted(tmp_path: Path) -> None:
    store = jobs.JobStore()
    job = store.insert(tmp_path / "demo", "build", {"source": "x.csv"})
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    store.claim_next(tmp_path / "demo", gone.pid)
    job_now, queued = build_banner.current(tmp_path / "demo")
    assert job_now is not None and job_now.id == job.id and job_now.state == "interrupted" and queued == 0


def test_with_a_home_the_first_start_builds_its_demo_collection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """STYLE_ATLAS_HOME set: the demo built on first start is <home>/demo, through the same build
    job (its banner reads it); another collection of that home is never built behind its back."""
    home = tmp_path / "home"
    monkeypatch.setenv(collections.HOME_ENV, str(home))
    monkeypatch.delenv(collections.WORKSPACE_ENV, raising=False)
    monkeypatch.delenv("STYLE_ATLAS_BUILD", raising=False)
    assert first_start_root() == home / "demo"
    assert start_build(home / "spring") is None and not (home / "spring").exists()
    bad = tmp_path / "catalog.csv"
    bad.write_text("path,label\nnowhere.jpg,Dress\n")
    job = start_build(source=bad)
    assert job is not None and job.kind == "build" and Path(job.root) == home / "demo"
    assert build_banner.current(home / "demo")[0].id == job.id  # type: ignore[union-attr]
    assert wait_for(job.id, ("failed", "done"), timeout=120).state == "failed"
    monkeypatch.setenv(collections.WORKSPACE_ENV, str(tmp_path / "mine"))
    assert first_start_root() == tmp_path / "mine" and start_build() is None  # a named workspace is theirs
