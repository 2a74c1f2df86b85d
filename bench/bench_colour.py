"""Search by colour: how long the palette step takes on real thumbnails, and the latency of
one colour query (24 results; ΔE00, with the CIE76 first pass past 1,000 palettes) up to 50,000.

    nice -n 10 .venv/bin/python bench/bench_colour.py [--workspace WS --n-thumbs 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from core import colour_search  # noqa: E402
from core.colour_search import query_from_hex, query_from_image  # noqa: E402
from core.palette import N_COLOURS, Palettes, image_palette  # noqa: E402
from core.workspace import Workspace  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", help="a workspace whose thumbnails to time the palette step on")
    ap.add_argument("--n-thumbs", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if args.workspace:
        ws = Workspace.open(args.workspace)
        ids = ws.items()["item_id"].tolist()[: args.n_thumbs]
        t0 = time.perf_counter()
        for i in ids:
            with Image.open(ws.thumb_path(i)) as im:
                image_palette(im)
        ms = (time.perf_counter() - t0) * 1000 / len(ids)
        print(f"palette of one thumbnail: {ms:.1f} ms (mean of {len(ids)}); whole demo (1,791): {ms * 1.791:.1f} s")
    rng = np.random.default_rng(0)
    single = query_from_hex("#b22222")
    swatch = query_from_image(Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)))
    print("| palettes | one colour (ms) | 4-colour swatch (ms) |")
    print("|---|---|---|")
    for n in (1791, 10000, 50000):
        lab = np.stack([rng.uniform(0, 100, (n, N_COLOURS)), rng.uniform(-80, 80, (n, N_COLOURS)),
                        rng.uniform(-80, 80, (n, N_COLOURS))], axis=-1).astype(np.float32)
        w = rng.dirichlet(np.ones(N_COLOURS), n).astype(np.float32)
        pal = Palettes(0, np.asarray([f"{i:016x}" for i in range(n)]), lab, w)
        out = []
        for q in (single, swatch):
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                colour_search._rank(pal, q, 24, None, ())  # what search_colour does once palettes are loaded
                times.append((time.perf_counter() - t0) * 1000)
            out.append(float(np.median(times)))
        print(f"| {n:,} | {out[0]:.1f} | {out[1]:.1f} |")


if __name__ == "__main__":
    main()
