"""Jobs: state round trip, one job per collection with a queue, cancel, kill -9 and resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import core.jobs as jobs
from core.errors import InvalidInputError
from core.jobs.store import STALE_S, JobStore
from tests.conftest import write_subset_csv


def wait_for(job_id: str, states: tuple[str, ...], timeout: float = 60.0) -> jobs.JobRecord:
    """Poll the table until the job is in one of ``states`` (a bounded wait, not a timing assert)."""
    deadline = time.monotonic() + timeout
    while True:
        job = jobs.get(job_id)
        assert job is not None
        if job.state in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job.state} (step {job.step!r}) after {timeout} s")
        time.sleep(0.1)


def test_state_round_trip(tmp_path: Path, job_table: Path) -> None:
    store = JobStore()
    assert store.path == job_table
    rec = store.insert(tmp_path / "ws", "test-count", {"n": 3})
    assert rec.state == "queued" and rec.root == str((tmp_path / "ws").absolute())
    store.update(rec.id, step="embed", done=5, total=20, eta_s=12.5, steps_done=["ingest"], result={"a": 1})
    back = jobs.get(rec.id)
    assert back is not None and (back.step, back.done, back.total, back.eta_s) == ("embed", 5, 20, 12.5)
    assert back.steps_done == ["ingest"] and back.result == {"a": 1} and back.fraction == 0.25
    assert back.params == {"n": 3} and back.kind == "test-count"
    assert jobs.latest(tmp_path / "ws") == back and jobs.latest(tmp_path / "other") is None
    assert jobs.get("nope") is None


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="unknown job kind 'explode'.*build"):
        jobs.submit(tmp_path, "explode", {})
    assert jobs.latest(tmp_path) is None


def test_a_running_job_whose_worker_is_gone_reads_as_interrupted(tmp_path: Path) -> None:
    store = JobStore()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    rec = store.insert(tmp_path, "test-count", {})
    claimed = store.claim_next(tmp_path, dead.pid)
    assert claimed is not None and claimed.id == rec.id
    job = jobs.get(rec.id)
    assert job is not None and job.state == "interrupted" and "stopped" in job.error and job.resumable
    # a worker on another machine is judged by its heartbeat alone
    other = store.insert(tmp_path / "b", "test-count", {})
    store.claim_next(tmp_path / "b", os.getpid())
    store.update(other.id, host="elsewhere", heartbeat=time.time() - STALE_S - 1, started=time.time() - 100)
    assert jobs.get(other.id).state == "interrupted"  # type: ignore[union-attr]


def test_two_jobs_on_one_collection_queue_and_run_in_order(tmp_path: Path) -> None:
    first = jobs.submit(tmp_path, "test-count", {"n": 20, "tick_s": 0.05})
    wait_for(first.id, ("running",))
    second = jobs.submit(tmp_path, "test-count", {"n": 2, "tick_s": 0.01})
    assert jobs.get(second.id).state == "queued"  # type: ignore[union-attr]
    assert [j.id for j in jobs.active(tmp_path)] == [first.id, second.id]
    other = jobs.submit(tmp_path / "other", "test-count", {"n": 2, "tick_s": 0.01})  # another collection: at once
    wait_for(other.id, ("done",))
    a = wait_for(first.id, ("done",))
    b = wait_for(second.id, ("done",))
    assert b.started >= a.updated - 0.5 and a.result == {"ticks": 40} and a.steps_done == ["first", "second"]
    assert jobs.get(second.id).state == "done"  # type: ignore[union-attr]


def test_progress_has_counts_an_eta_and_a_fresh_heartbeat(tmp_path: Path) -> None:
    job = jobs.submit(tmp_path, "test-count", {"n": 40, "tick_s": 0.1})
    wait_for(job.id, ("running",))
    seen = []
    while len(seen) < 15:
        now = jobs.get(job.id)
        assert now is not None
        if now.state != "running":
            break
        seen.append(now)
        time.sleep(0.2)
    during = [s for s in seen if s.done > 0]
    assert during and all(0 < s.done <= s.total == 40 for s in during)
    assert any(s.eta_s is not None and s.eta_s > 0 for s in during)
    jobs.cancel(job.id)
    wait_for(job.id, ("cancelled",))


@pytest.mark.parametrize("kind", ["test-count", "test-stall"])
def test_cancel_takes_effect_within_5_s_and_the_job_resumes(tmp_path: Path, kind: str) -> None:
    job = jobs.submit(tmp_path, kind, {"n": 1000, "tick_s": 0.05, "seconds": 120})
    wait_for(job.id, ("running",))
    time.sleep(1.0)
    asked = time.monotonic()
    jobs.cancel(job.id)
    stopped = wait_for(job.id, ("cancelled", "failed", "done"), timeout=5.0)
    latency = time.monotonic() - asked
    assert stopped.state == "cancelled", stopped.error
    print(f"cancel latency ({kind}): {latency:.2f} s")
    resumed = jobs.resume(job.id, start=False)
    assert resumed.state == "queued" and resumed.attempt == 2 and not resumed.cancel_requested
    jobs.cancel(job.id)  # a queued job is cancelled at once
    assert jobs.get(job.id).state == "cancelled"  # type: ignore[union-attr]
    with pytest.raises(InvalidInputError, match="only a failed, cancelled or interrupted"):
        jobs.resume(jobs.submit(tmp_path / "x", "test-count", {"n": 1}, start=False).id)


def _embed_workspace(tmp_path: Path, per_class: int) -> Path:
    from core import pipeline
    from core.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    pipeline.ingest(ws, write_subset_csv(tmp_path / "catalog.csv", per_class=per_class, unlabelled=0))
    return ws.root


@pytest.mark.backbone
def test_kill_9_mid_embed_is_interrupted_and_resumes_without_losing_or_duplicating(tmp_path: Path) -> None:
    from core.embed.artifact import load_features
    from core.workspace import Workspace

    root = _embed_workspace(tmp_path, per_class=4)
    n_items = len(Workspace.open(root).items())
    job = jobs.submit(root, "test-embed", {})
    wait_for(job.id, ("running",))
    deadline = time.monotonic() + 240
    while True:  # wait until some batches are in the cache, then kill the worker
        now = jobs.get(job.id)
        assert now is not None and now.state == "running", now
        if now.step.startswith("embed") and now.done >= 32:
            break
        assert time.monotonic() < deadline, "the embed never got going"
        time.sleep(0.2)
    os.kill(now.pid, signal.SIGKILL)
    dead = wait_for(job.id, ("interrupted",), timeout=STALE_S + 5)
    assert dead.resumable and dead.done >= 32
    ws = Workspace.open(root)
    assert not ws.has("features/efficientnet-lite0")  # nothing half-written shows
    assert list((ws.cache_dir / "efficientnet-lite0").rglob("*.npz"))  # the finished batches are kept
    jobs.resume(job.id)
    done = wait_for(job.id, ("done", "failed"), timeout=300)
    assert done.state == "done", done.error
    report = done.result["embed"]
    assert report["total"] == n_items and report["cached"] >= 32  # the batches before the kill came from the cache
    assert report["computed"] + report["cached"] == n_items
    fs = load_features(Workspace.open(root), "efficientnet-lite0")
    assert len(fs.ids) == n_items == len(set(fs.ids.tolist()))  # nothing lost, no duplicate rows
