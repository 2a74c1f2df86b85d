"""Jobs: adding photos to a built collection, progress interval, cancel latency, Celery overhead.

    python bench/bench_jobs.py [--workspace /work/demo-ws] [--add 50] [--scratch DIR] [--celery] [--import-photos 200]

Copies the workspace (the demo: 1,791 photos, every artifact) to a scratch folder, makes
``--add`` new photos (mirrored, cropped copies of demo photos: new content, new ids) and runs a
``grow`` job on the local queue: seconds from submit until they are on the map (and in the
clusters and the index), and the interval between the job's progress writes. Then a
``recluster`` job is cancelled mid-step (seconds from cancel to the job's stop). With
``--celery`` (needs redis-server), a trivial job's submit-to-done time through Celery on Redis
against the local queue. Last, ``python -m core import`` of a ZIP of ``--import-photos`` (200,
about 20 MB) new photos with a labels CSV into the populated collection: seconds, peak memory.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import core.jobs as jobs  # noqa: E402
from core.projection import load_projection  # noqa: E402
from core.workspace import Workspace  # noqa: E402

DEMO = REPO / "data" / "demo"


def new_photos(folder: Path, n: int, step: int = 13, margin: int = 20, scale: float = 1.0, quality: int = 90) -> Path:
    """``n`` new photos (mirrored and cropped demo photos: every ``step``-th labelled one,
    1/``margin`` off each side, resized by ``scale``) and their catalog CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(DEMO / "catalog.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["label"]][::step][:n]
    out = []
    for i, row in enumerate(rows):
        img = ImageOps.mirror(Image.open(DEMO / row["path"]).convert("RGB"))
        w, h = img.size
        img = img.crop((w // margin, h // margin, w - w // margin, h - h // margin))
        if scale != 1.0:
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
        path = folder / f"new-{i:03d}.jpg"
        img.save(path, quality=quality)
        out.append({**row, "path": str(path)})
    csv_path = folder / "catalog.csv"
    with open(csv_path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(out[0]))
        writer.writeheader()
        writer.writerows(out)
    return csv_path


def follow(job_id: str, root: Path, want: set[str] | None = None) -> tuple[jobs.JobRecord, list[float], float | None]:
    """Poll a job to its end: its final record, the gaps between its progress writes, and the
    seconds until every id of ``want`` was on the map."""
    t0 = time.monotonic()
    beats: list[float] = []
    on_map = None
    last = 0.0
    while True:
        job = jobs.get(job_id)
        assert job is not None
        if job.heartbeat and job.heartbeat != last:
            beats.append(job.heartbeat)
            last = job.heartbeat
        if want and on_map is None:
            try:
                if want <= set(load_projection(Workspace.open(root))["item_id"]):
                    on_map = time.monotonic() - t0
            except Exception:  # noqa: BLE001 - mid-write: try again
                pass
        if job.state not in ("queued", "running"):
            return job, [b - a for a, b in zip(beats, beats[1:])], on_map
        time.sleep(0.1)


def bench_grow(root: Path, add: int, scratch: Path) -> None:
    ws = Workspace.open(root)
    before = set(ws.items()["item_id"])
    source = new_photos(scratch / "new", add)
    t0 = time.monotonic()
    job = jobs.submit(root, "grow", {"source": str(source)})
    done, gaps, _ = follow(job.id, root)
    total = time.monotonic() - t0
    new_ids = set(Workspace.open(root).items()["item_id"]) - before
    on_map = new_ids <= set(load_projection(Workspace.open(root))["item_id"])
    print(f"grow: {len(new_ids)} new photos into {len(before):,}: {total:.1f} s from submit to done "
          f"(on the map: {on_map}); state {done.state} {done.error}")
    print(f"  steps: {', '.join(done.steps_done)}; embed computed {done.result.get('embed', {}).get('computed')}")
    if gaps:
        print(f"  progress writes: every {statistics.median(gaps):.2f} s (median), max gap {max(gaps):.2f} s")


def bench_import(root: Path, n: int, scratch: Path) -> None:
    """``python -m core import`` of a ZIP of ``n`` new photos (with a CSV of labels) into the
    fully populated collection at ``root``: staged, then its import job (ingest, embed only the
    new photos, grow) in that process. Seconds and the process's peak memory (max RSS)."""
    import resource
    import zipfile

    source = new_photos(scratch / "import", n, step=7, margin=12, scale=2.7, quality=95)  # ~100 KB each: a 20 MB ZIP
    archive = scratch / "import.zip"
    with open(source) as fh:
        rows = list(csv.DictReader(fh))
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        for r in rows:
            zf.write(r["path"], arcname=Path(r["path"]).name)
        zf.writestr("labels.csv", "file,label\n" + "".join(f"{Path(r['path']).name},{r['label']}\n" for r in rows))
    env = {**os.environ, "STYLE_ATLAS_HOME": str(root.parent)}
    env.pop("STYLE_ATLAS_WORKSPACE", None)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "core", "import", str(archive), "--collection", root.name, "--quiet"],
                          cwd=str(REPO), env=env, capture_output=True, text=True)
    seconds = time.monotonic() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"import: {len(rows)} photos ({archive.stat().st_size / 2**20:.1f} MB ZIP) into {root.name!r} "
          f"(a fully populated collection): {seconds:.1f} s, peak memory {peak_mb:.0f} MB (max RSS of the import "
          f"process); rc {proc.returncode}: {proc.stdout.strip() or proc.stderr.strip()[-300:]}")


def bench_cancel(root: Path) -> None:
    job = jobs.submit(root, "recluster", {})
    while (now := jobs.get(job.id)) is not None and not now.step.startswith("cluster"):
        time.sleep(0.1)
    time.sleep(3.0)
    t0 = time.monotonic()
    jobs.cancel(job.id)
    while (now := jobs.get(job.id)) is not None and now.state == "running":
        time.sleep(0.05)
    print(f"cancel: a recluster job in step {now.step!r} stopped {time.monotonic() - t0:.2f} s after the cancel "
          f"({now.state}); the clustering still readable: {Workspace.open(root).has('clusters/default')}")


def _trivial(root: Path, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.monotonic()
        job = jobs.submit(root / f"c{i}", "build", {})
        follow(job.id, root)
        out.append(time.monotonic() - t0)
    return out


def bench_celery(scratch: Path, n: int = 5) -> None:
    """A job that fails at once (no photos): submit → ended, locally and through Celery."""
    local = _trivial(scratch / "local", n)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL)
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "core.jobs.celery_app", "worker",
                               "--loglevel=WARNING", "--concurrency=1"], cwd=str(REPO))
    try:
        time.sleep(8)
        celery = _trivial(scratch / "celery", n)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        redis.terminate()
        del os.environ["REDIS_URL"]
    print(f"queue overhead (a job that ends at once, median of {n}): local {statistics.median(local):.2f} s "
          f"(a new worker process), Celery {statistics.median(celery):.2f} s (a warm worker)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", type=Path, default=Path("/work/demo-ws"))
    parser.add_argument("--add", type=int, default=50)
    parser.add_argument("--scratch", type=Path, default=None)
    parser.add_argument("--celery", action="store_true")
    parser.add_argument("--import-photos", type=int, default=200, help="photos of the import bench (0: skip it)")
    args = parser.parse_args()
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    root = scratch / "ws"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(args.workspace, root)
    os.environ.setdefault("STYLE_ATLAS_JOBS_DB", str(scratch / "jobs.sqlite"))
    bench_grow(root, args.add, scratch)
    bench_cancel(root)
    if args.import_photos:
        bench_import(root, args.import_photos, scratch)
    if args.celery:
        bench_celery(scratch)


if __name__ == "__main__":
    main()
