"""Embedding throughput, cache re-run and peak memory on the demo catalog.

    .venv/bin/python bench/bench_embedding.py [--n 320] [--views 0] [--workers 2] [--runtime auto]
    .venv/bin/python bench/bench_embedding.py --decode-ab 3 [--n 160] [--views 2]

Prints, from one process (so the ratio is fair on a noisy shared machine):
- raw forward: images/s of the model alone on pre-decoded, pre-processed tensors;
- pipeline: images/s of ``embed_workspace`` (decode + preprocess in DataLoader workers + forward
  + cache writes) on the same images, and its ratio to the raw forward;
- re-run on the unchanged catalog: seconds and images recomputed (must be 0);
- peak RSS of the process (and of its decoding workers) while embedding.

``--decode-ab R``: instead, R rounds of ``embed_workspace`` with no decoding process, alternately
without and with the decode thread (``EmbedConfig.decode_thread``), each on a fresh workspace:
images/s per round and the median ratio with / without.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.embed.extractor import FeatureExtractor  # noqa: E402
from core.embed.preprocess import preprocess  # noqa: E402
from core.embed.runtime import CHOICES as RUNTIME_CHOICES  # noqa: E402
from core.embed.spec import get_spec, siblings  # noqa: E402
from core.embed.step import EmbedConfig, embed_workspace  # noqa: E402
from core.images import ingest  # noqa: E402
from core.workspace import Workspace  # noqa: E402
from tests.conftest import write_subset_csv  # noqa: E402


class PeakRss:
    """Samples the RSS of this process plus its decoding workers every 200 ms.

    Plain RSS (``/proc/PID/statm``) is cheap to read; PSS (``smaps``) costs tens of
    milliseconds per read of a process holding torch and would slow the very run it measures.
    Workers share the parent's pages, so the sum over-counts them."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                rss = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
            except psutil.Error:
                rss = 0
            self.peak = max(self.peak, rss)
            time.sleep(0.2)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=320, help="images (0: the whole demo catalog)")
    parser.add_argument("--views", type=int, default=0)
    parser.add_argument("--workers", type=int, default=EmbedConfig().workers)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--forward-batch", type=int, default=EmbedConfig().forward_batch,
                        help="images (views included) per forward pass")
    parser.add_argument("--backbone", default="efficientnet-lite0")
    parser.add_argument("--no-siblings", action="store_true",
                        help="embed the backbone alone (the pipeline also writes its 2x2-grid sibling)")
    parser.add_argument("--runtime", default=EmbedConfig.runtime, choices=RUNTIME_CHOICES)
    parser.add_argument("--decode-ab", type=int, default=0, metavar="ROUNDS",
                        help="compare workers=0 without / with the decode thread instead")
    args = parser.parse_args()
    also = () if args.no_siblings else siblings(args.backbone)
    tmp = Path(tempfile.mkdtemp(prefix="bench-embed-"))
    per_class = 10_000 if args.n == 0 else max(1, args.n // 18)
    csv = write_subset_csv(tmp / "cat.csv", per_class=per_class, unlabelled=0)
    if args.decode_ab:
        decode_ab(tmp, csv, args, also)
        return
    ws = Workspace(tmp / "ws")
    ingest(ws, csv)
    ids = ws.items()["item_id"].tolist()
    n_img = len(ids) * (1 + args.views)
    spec = get_spec(args.backbone)
    extractor = FeatureExtractor(args.backbone, runtime=args.runtime)
    print(f"backbone {args.backbone} (+ {', '.join(also) or 'no siblings'}), {len(ids)} images x {1 + args.views} views, "
          f"batch {args.batch_size}, forward batch {args.forward_batch}, "
          f"torch threads {torch.get_num_threads()}, decoding workers {args.workers}, runtime {extractor.runtime.name}")

    # raw forward on pre-decoded tensors (the same number of forwards as the pipeline), measured
    # before and after the pipeline run so that drifting load on a shared machine shows
    x = torch.from_numpy(np.stack([preprocess(spec, Image.open(ws.image_path(i)).convert("RGB")) for i in ids]))
    extractor.extract(x[: args.batch_size])  # warm-up

    def raw_forward() -> float:
        t0 = time.perf_counter()
        for _ in range(1 + args.views):
            for s in range(0, len(x), args.batch_size):
                extractor.extract(x[s: s + args.batch_size])
        return n_img / (time.perf_counter() - t0)

    raw_before = raw_forward()

    cfg = EmbedConfig(backbone=args.backbone, n_views=args.views, workers=args.workers, batch_size=args.batch_size,
                      forward_batch=args.forward_batch, runtime=args.runtime)
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with PeakRss() as peak:
        t0 = time.perf_counter()
        rep = embed_workspace(ws, cfg, also=also)
        pipe = n_img / (time.perf_counter() - t0)
    assert rep.computed == len(ids)
    raw_after = raw_forward()
    raw = (raw_before + raw_after) / 2
    t0 = time.perf_counter()
    again = embed_workspace(ws, cfg, also=also)
    rerun = time.perf_counter() - t0

    print(f"raw forward        {raw:8.1f} img/s   (before {raw_before:.1f}, after {raw_after:.1f})")
    print(f"pipeline           {pipe:8.1f} img/s   ratio pipeline/raw = {pipe / raw:.2f}")
    print(f"re-run unchanged   {rerun:8.2f} s       recomputed = {again.computed}")
    print(f"peak RSS embedding {peak.peak / 2**20:8.0f} MiB (process + workers, sampled; process peak "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB, of which "
          f"{maxrss_before / 1024:.0f} MiB before embedding: the model and the raw-forward tensors)")


def decode_ab(tmp: Path, csv: Path, args: argparse.Namespace, also: tuple[str, ...]) -> None:
    """Rounds of embedding with workers=0, alternately without and with the decode thread."""
    rates: dict[bool, list[float]] = {False: [], True: []}
    for r in range(args.decode_ab):
        for thread in (False, True):
            ws = Workspace(tmp / f"ab-{r}-{thread}")
            ingest(ws, csv)
            cfg = EmbedConfig(backbone=args.backbone, n_views=args.views, workers=0, batch_size=args.batch_size,
                              forward_batch=args.forward_batch, runtime=args.runtime, decode_thread=thread)
            t0 = time.perf_counter()
            rep = embed_workspace(ws, cfg, also=also)
            rates[thread].append(rep.computed * (1 + args.views) / (time.perf_counter() - t0))
            print(f"round {r} decode thread {'on ' if thread else 'off'} {rates[thread][-1]:7.1f} img/s "
                  f"(runtime {rep.runtime}, {rep.computed} images x {1 + args.views} views)")
            sys.stdout.flush()
    ratio = float(np.median(np.array(rates[True]) / np.array(rates[False])))
    print(f"decode thread: median {np.median(rates[True]):.1f} vs {np.median(rates[False]):.1f} img/s without, "
          f"median ratio per round {ratio:.2f}")


if __name__ == "__main__":
    main()
