"""Jobs through Celery on a real Redis: Debian's redis-server and a Celery worker, started here."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import core.jobs as jobs
from core.workspace import Workspace
from tests.core.jobs.test_jobs import wait_for
from tests.core.test_grow import _new_photos

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="needs Debian's redis-server (scripts/install_system_deps.sh)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
    url = f"redis://127.0.0.1:{port}/0"
    monkeypatch.setenv("REDIS_URL", url)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def celery_worker(redis_url: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = open(tmp_path / "celery.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "core.jobs.celery_app", "worker",
                             "--loglevel=INFO", "--concurrency=2", "--without-gossip", "--without-mingle"],
                            cwd=str(REPO), env={**os.environ}, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while b"ready" not in (tmp_path / "celery.log").read_bytes():
        assert proc.poll() is None, (tmp_path / "celery.log").read_text()
        assert time.monotonic() < deadline, "the Celery worker did not get ready"
        time.sleep(0.2)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_jobs_queue_and_cancel_through_celery(celery_worker: subprocess.Popen[bytes], tmp_path: Path) -> None:
    first = jobs.submit(tmp_path / "a", "test-count", {"n": 30, "tick_s": 0.05})
    second = jobs.submit(tmp_path / "a", "test-count", {"n": 2, "tick_s": 0.01})
    running = wait_for(first.id, ("running",))
    assert running.pid != os.getpid() and running.pid != celery_worker.pid  # a pool process of the worker
    assert jobs.get(second.id).state == "queued"  # type: ignore[union-attr]
    assert wait_for(first.id, ("done",)).result == {"ticks": 60}
    assert wait_for(second.id, ("done",)).state == "done"
    stall = jobs.submit(tmp_path / "b", "test-stall", {"seconds": 120})
    wait_for(stall.id, ("running",))
    jobs.cancel(stall.id)
    assert wait_for(stall.id, ("cancelled",), timeout=5.0).state == "cancelled"  # the pool child was ended
    after = jobs.submit(tmp_path / "b", "test-count", {"n": 1, "tick_s": 0.01})  # the worker still serves
    assert wait_for(after.id, ("done",)).state == "done"


@pytest.fixture
def growable(tmp_path: Path) -> Workspace:
    """A real workspace of 18 demo photos (one per label) that a grow job can grow into, built in
    the least time: real ingestion, lite0 features and query-model export, a short clustering
    and similarity fit, and maps placed without UMAP (growing places new items by kNN, so the
    maps' origin does not matter to it). Nothing is left for the grow job to build but the new items."""
    import numpy as np
    import pandas as pd

    from core import pipeline
    from core.cluster import ClusterConfig
    from core.projection import write_projection
    from core.similarity import SimilarityConfig
    from tests.conftest import write_subset_csv

    ws = Workspace(tmp_path / "ws")
    pipeline.ingest(ws, write_subset_csv(tmp_path / "catalog.csv", per_class=1, unlabelled=0))
    for step in pipeline.embed_steps():
        step.run(ws, pipeline.RunConfig(), None)
    pipeline.cluster(ws, ClusterConfig(k_init=4, k_max=4, n_epochs=2, min_epochs=1, init_umap=None, baseline=False))
    pipeline.similarity(ws, SimilarityConfig(epochs=2, shipped_directions=None))
    pipeline.serving(ws)
    next(s for s in pipeline.steps() if s.key == "palette").run(ws, pipeline.RunConfig(), None)
    ids = ws.items()["item_id"].astype(str).to_numpy()
    xy = np.random.default_rng(0).normal(size=(len(ids), 2)).astype(np.float32)
    frame = pd.DataFrame({"item_id": ids, "x": xy[:, 0], "y": xy[:, 1]})
    write_projection(ws, frame, "default", {"source": pipeline.DEFAULT_FEATURES, "synthetic": True})
    write_projection(ws, frame, "tuned", {"source": "similarity/default", "synthetic": True})
    assert pipeline.missing_steps(ws) == []
    return ws


@pytest.mark.backbone
def test_a_grow_job_end_to_end_through_redis_and_celery(celery_worker: subprocess.Popen[bytes],
                                                        growable: Workspace, tmp_path: Path) -> None:
    root = growable.root
    n_before = len(growable.items())
    job = jobs.submit(root, "grow", {"source": str(_new_photos(growable, tmp_path / "new.csv", 4))})
    done = wait_for(job.id, ("done", "failed"), timeout=600)
    assert done.state == "done", done.error
    assert done.pid not in (os.getpid(), celery_worker.pid)  # a pool process of the Celery worker ran it
    assert done.result["ingest"]["added"] == 4 and done.result["embed"]["computed"] == 4
    assert done.result["grow"]["clusters"]["added"] == 4 and done.result["grow"]["projection/default"]["added"] == 4
    assert "cluster" not in done.result  # grown, not retrained
    ws = Workspace.open(root)
    assert len(ws.items()) == n_before + 4
    assert "ingest" in done.steps_done and any(s.startswith("embed") for s in done.steps_done)
