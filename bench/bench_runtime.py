"""Forward-pass throughput and quality of each numeric runtime (core.runtime), in one run.

For each backbone: N real demo photos are decoded and preprocessed once; then the runtimes take
turns (``--rounds`` rounds, so machine load hits them alike) on the same tensors in forward
passes of ``--batch`` images. Printed: images/s (median over rounds), the ratio to fp32, and the
cosine of each runtime's pooled features to fp32's (mean and minimum). No asserts.

Usage::

    .venv/bin/python bench/bench_runtime.py [--n 256] [--batch 32] [--rounds 3] [--backbones efficientnet-lite0,efficientnet-lite2]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.backbones import FeatureExtractor, get_spec, preprocess  # noqa: E402
from core.runtime import RUNTIMES, cpu_flags, resolve  # noqa: E402

DEMO = REPO / "data" / "demo"


def demo_images(n: int) -> list[Image.Image]:
    """The first ``n`` photos of the bundled demo catalog, decoded."""
    with open(DEMO / "catalog.csv") as fh:
        rows = list(csv.DictReader(fh))[:n]
    return [Image.open(DEMO / r["path"]).convert("RGB") for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backbones", default="efficientnet-lite0,efficientnet-lite2")
    args = ap.parse_args()
    import torch

    images = demo_images(args.n)
    runtimes = [r for r in RUNTIMES if r != "auto"]
    print(f"{len(images)} demo photos, batch {args.batch}, {args.rounds} rounds, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; bf16 units: {sorted(cpu_flags() & {'amx_bf16', 'avx512_bf16'}) or 'none'}; "
          f"auto -> {resolve('auto')}")
    for name in args.backbones.split(","):
        spec = get_spec(name)
        x = torch.from_numpy(np.stack([preprocess(spec, im) for im in images]))
        extractors = {r: FeatureExtractor(name, runtime=r) for r in runtimes}
        feats: dict[str, np.ndarray] = {}
        rates: dict[str, list[float]] = {r: [] for r in runtimes}
        for r in runtimes:  # warm-up pass (weights, oneDNN kernels)
            extractors[r].extract(x[: args.batch])
        for _ in range(args.rounds):
            for r in runtimes:
                t0 = time.perf_counter()
                out = [extractors[r].extract(x[s:s + args.batch])[0] for s in range(0, len(x), args.batch)]
                rates[r].append(len(x) / (time.perf_counter() - t0))
                feats[r] = torch.cat(out).numpy()
        base = statistics.median(rates["fp32"])
        ref = feats["fp32"] / np.linalg.norm(feats["fp32"], axis=1, keepdims=True)
        print(f"\n{name} ({spec.input_size} px)")
        print(f"{'runtime':10s} {'img/s':>8s} {'vs fp32':>8s} {'cos mean':>9s} {'cos min':>8s}")
        for r in runtimes:
            f = feats[r] / np.linalg.norm(feats[r], axis=1, keepdims=True)
            cos = (f * ref).sum(1)
            rate = statistics.median(rates[r])
            print(f"{r:10s} {rate:8.1f} {rate / base:7.2f}× {cos.mean():9.5f} {cos.min():8.5f}")


if __name__ == "__main__":
    main()
