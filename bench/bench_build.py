"""The demo's embed time and first-start build time, per forward-pass runtime, in one run.

    nice .venv/bin/python bench/bench_build.py [--runtimes fp32,auto] [--dir /work/scratch/me]

For each runtime, in turn, on a fresh workspace of the bundled demo catalog (1,791 photos):

1. ingest (``core.pipeline.ingest``, in a fresh process);
2. ``python -m core embed --workspace WS --runtime R --quiet``, timed as a command (process
   start, model load and the forward passes of 1,791 photos x 3 views);
3. every later step of the first start (``core.pipeline.run_steps`` with the same runtime, in a
   fresh process; the embed step is then a cache hit), timed per step.

The first-start build time is 1 + 2 + 3: what ``components.bootstrap`` runs on a first start.
Prints figures and the ratio of each runtime to the first; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _ingest_child(root: str, out: str) -> None:
    from core import pipeline
    from core.workspace import Workspace

    t0 = time.perf_counter()
    report = pipeline.ingest(Workspace(root), pipeline.DEMO_CATALOG)
    Path(out).write_text(json.dumps({"seconds": time.perf_counter() - t0, "items": report.to_dict().get("added")}))


def _rest_child(root: str, runtime: str, out: str) -> None:
    from core import pipeline
    from core.embed.step import EmbedConfig
    from core.workspace import Workspace

    cfg = pipeline.RunConfig(embed=EmbedConfig(runtime=runtime))  # type: ignore[arg-type]
    marks: list[tuple[str, float]] = []

    def factory(step: str) -> None:
        marks.append((step, time.perf_counter()))

    t0 = time.perf_counter()
    pipeline.run_steps(Workspace(root), pipeline.steps(cfg), config=cfg, progress_factory=factory)
    end = time.perf_counter()
    bounds = [t for _, t in marks[1:]] + [end]
    steps = {name: round(b - t, 1) for (name, t), b in zip(marks, bounds, strict=True)}
    Path(out).write_text(json.dumps({"seconds": end - t0, "steps": steps}))


def _in_child(target, *args: str) -> dict:
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    proc = multiprocessing.get_context("spawn").Process(target=target, args=(*args, str(out)))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"{target.__name__} failed with exit code {proc.exitcode}")
    data = json.loads(out.read_text())
    out.unlink()
    return data


def build_once(runtime: str, folder: Path) -> dict:
    """Ingest, ``python -m core embed``, the rest of the first start, on a fresh workspace."""
    root = folder / f"ws-{runtime}"
    shutil.rmtree(root, ignore_errors=True)
    ingest = _in_child(_ingest_child, str(root))
    cmd = [sys.executable, "-m", "core", "embed", "--workspace", str(root), "--runtime", runtime, "--quiet", "--json"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    embed_s = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"embed failed: {done.stderr.strip()[-500:]}")
    info = json.loads(done.stdout)
    rest = _in_child(_rest_child, str(root), runtime)
    shutil.rmtree(root, ignore_errors=True)
    return {"runtime": runtime, "runtime_used": info.get("runtime"), "ingest_s": ingest["seconds"], "embed_s": embed_s,
            "rest_s": rest["seconds"], "steps": rest["steps"], "build_s": ingest["seconds"] + embed_s + rest["seconds"],
            "embed_report": {k: info.get(k) for k in ("computed", "cached", "total") if k in info}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runtimes", default="fp32,auto", help="comma-separated, the first is the baseline")
    p.add_argument("--dir", type=Path, default=None, help="where the temporary workspaces go")
    args = p.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="atlas-build-", dir=args.dir))
    results = []
    try:
        for runtime in args.runtimes.split(","):
            r = build_once(runtime.strip(), folder)
            results.append(r)
            base = results[0]
            print(f"{r['runtime']:>14} (ran {r['runtime_used']}): `python -m core embed` {r['embed_s']:.0f} s "
                  f"({base['embed_s'] / r['embed_s']:.2f}x the first) | first-start build {r['build_s']:.0f} s "
                  f"({base['build_s'] / r['build_s']:.2f}x): ingest {r['ingest_s']:.0f} s, embed {r['embed_s']:.0f} s, "
                  f"then {json.dumps(r['steps'])}", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
