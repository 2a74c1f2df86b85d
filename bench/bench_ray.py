"""Embedding on Ray against the local path, in one run, on demo photos.

    .venv/bin/python bench/bench_ray.py [--n 144] [--views 2] [--batch-size 8] [--cpus 2]

Starts a local Ray instance of ``--cpus`` CPUs, then embeds copies of one freshly ingested
workspace (lite0 and its 2×2-grid sibling, as the pipeline does): the local path, Ray with 1
worker, Ray with 2 workers (1 CPU and 1 torch thread each), the local path again (so that
drifting load on a shared machine shows), and the local path on 1 torch thread (what one Ray
worker does, without Ray). Prints for each:
- images/s over the whole call (for Ray: actors starting and loading the model included);
- seconds until the first batch was stored (model loading; for Ray also actors starting);
- against the first local run: the lowest and the mean per-row cosine of features and views.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import ray
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import pipeline  # noqa: E402
from core.embed.artifact import load_features  # noqa: E402
from core.embed.step import EmbedConfig  # noqa: E402
from core.ray_config import RayConfig  # noqa: E402
from core.workspace import Workspace  # noqa: E402
from tests.conftest import write_subset_csv  # noqa: E402


class Clock:
    """A progress callback that remembers when the first batch was stored."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.first = float("nan")

    def __call__(self, done: int, total: int) -> None:
        if done and self.first != self.first:
            self.first = time.perf_counter() - self.start


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=144, help="demo photos (a multiple of 18)")
    parser.add_argument("--views", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8, help="images per batch (and per Ray block)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ray-", dir="/tmp"))
    source = Workspace(tmp / "source")
    pipeline.ingest(source, write_subset_csv(tmp / "cat.csv", per_class=max(1, args.n // 18), unlabelled=0))
    n = len(source.items())
    per_item = 1 + args.views
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; lite0 (+ lite0-2x2, one pass), {n} photos x {per_item} views, batch {args.batch_size}; "
          f"local path: torch threads {torch.get_num_threads()}, decoding workers {EmbedConfig().workers}")
    t0 = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, _temp_dir=str(tmp / "ray"),
             logging_level="warning", log_to_driver=False)
    print(f"ray.init (local instance, {args.cpus} CPUs): {time.perf_counter() - t0:.1f} s")

    # the 1-thread local run comes last: EmbedConfig.threads sets torch's threads for the process
    runs = [("local", {}), ("ray, 1 worker", {"ray": RayConfig(workers=1)}),
            ("ray, 2 workers", {"ray": RayConfig(workers=2)}), ("local again", {}), ("local, 1 thread", {"threads": 1})]
    reference: Workspace | None = None
    base = float("nan")
    for k, (name, options) in enumerate(runs):
        ws = Workspace(shutil.copytree(source.root, tmp / f"run{k}"))
        clock = Clock()
        rep = pipeline.embed(ws, config=EmbedConfig(n_views=args.views, batch_size=args.batch_size, **options),
                             progress=clock)
        whole = n * per_item / (time.perf_counter() - clock.start)
        assert rep.computed == n
        reference = reference or ws
        base = base if k else whole
        a, b = load_features(reference, "efficientnet-lite0"), load_features(ws, "efficientnet-lite0")
        assert a.ids.tolist() == b.ids.tolist()
        cos = np.concatenate([cosines(np.asarray(a.features), np.asarray(b.features)),
                              cosines(np.asarray(a.views), np.asarray(b.views))])
        print(f"{name:<15} {whole:6.1f} img/s ({whole / base:4.2f}x local)   first batch after {clock.first:5.1f} s"
              f"   cosine to local: min {cos.min():.7f}, mean {cos.mean():.7f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    ray.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
