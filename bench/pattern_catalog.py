"""A demo-derived catalog with known pattern ground truth, for bench/bench_steering.py.

The demo has no pattern labels beyond the few shipped example sets, so the steering benchmark
draws patterns onto demo photos: ``stripes`` (dark horizontal bands, strong) and ``checks``
(a light two-way grid, weaker) over the centre of the photo, where the garment is. Base items
and patterned items come from disjoint demo photos, so no query has its own patterned twin.

    .venv/bin/python bench/pattern_catalog.py --out bench/out/patterns --n-base 600 --n-pattern 120

writes ``OUT/images/*.jpg`` and ``OUT/catalog.csv`` (``path``, ``pattern``: "", "stripes" or
"checks"), then ingests and embeds it into ``OUT/ws`` (lite0 + its 2x2 sibling, 2 views).
No ``label`` column: the catalog is unlabelled, as a stylist's own would be.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def _centre_mask(h: int, w: int) -> np.ndarray:
    """(h, w) soft mask, 1 over the centre of the photo (where the garment is), 0 at the edges."""
    y, x = np.mgrid[0:h, 0:w]
    d = ((x - w / 2) / (0.32 * w)) ** 2 + ((y - h / 2) / (0.38 * h)) ** 2
    return np.clip(1.5 - d, 0.0, 1.0)


def draw_pattern(image: Image.Image, pattern: str, rng: np.random.Generator) -> Image.Image:
    """The photo with ``pattern`` ("stripes" or "checks") multiplied onto its centre."""
    a = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    h, w = a.shape[:2]
    period = int(rng.integers(14, 26))
    colour = rng.uniform(0.0, 0.35, size=3) if pattern == "stripes" else rng.uniform(0.3, 0.7, size=3)
    y, x = np.mgrid[0:h, 0:w]
    if pattern == "stripes":
        band = ((y // (period // 2)) % 2 == 0).astype(np.float32)
        strength = 0.85
    else:
        band = np.maximum((y // (period // 2)) % 2 == 0, (x // (period // 2)) % 2 == 0).astype(np.float32) * 0.6
        strength = 0.55
    alpha = (strength * band * _centre_mask(h, w))[..., None]
    out = a * (1 - alpha) + colour[None, None, :] * alpha
    return Image.fromarray((np.clip(out, 0, 1) * 255).astype(np.uint8))


def build(out: Path, n_base: int, n_pattern: int, seed: int = 0) -> pd.DataFrame:
    """Write the images and ``catalog.csv``; returns the catalog."""
    rng = np.random.default_rng(seed)
    demo = pd.read_csv(DEMO / "catalog.csv")
    rows = rng.permutation(len(demo))[: n_base + 2 * n_pattern]
    (out / "images").mkdir(parents=True, exist_ok=True)
    records = []
    for n, r in enumerate(rows):
        pattern = "" if n < n_base else ("stripes" if n < n_base + n_pattern else "checks")
        image = Image.open(DEMO / demo.path[r]).convert("RGB")
        if pattern:
            image = draw_pattern(image, pattern, rng)
        path = out / "images" / f"{n:05d}_{pattern or 'plain'}.jpg"
        image.save(path, quality=92)
        records.append({"path": str(path.resolve()), "pattern": pattern})
    cat = pd.DataFrame(records)
    cat.to_csv(out / "catalog.csv", index=False)
    return cat


def main() -> None:
    """Build the catalog and its workspace (ingest + embed)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="bench/out/patterns")
    p.add_argument("--n-base", type=int, default=600)
    p.add_argument("--n-pattern", type=int, default=120)
    args = p.parse_args()
    out = Path(args.out)
    build(out, args.n_base, args.n_pattern)
    ws = str(out / "ws")
    for cmd in (["ingest", str(out / "catalog.csv")], ["embed"]):
        subprocess.run([sys.executable, "-m", "core", *cmd, "--workspace", ws, "--quiet"], check=True)


if __name__ == "__main__":
    main()
