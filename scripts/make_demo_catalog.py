"""Build the bundled demo catalog (data/demo/) from the CC0 clothing photo set.

Run once by a maintainer; the result is committed. Nothing at run or test time reads the source.

    python scripts/make_demo_catalog.py /path/to/clothing-cc0 data/demo
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageOps

UNLABELLED = {"Not sure", "Skip", ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--per-class", type=int, default=110)
    parser.add_argument("--unlabelled", type=int, default=60)
    parser.add_argument("--long-side", type=int, default=320)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rows = {r["image"]: r for r in csv.DictReader(open(args.source / "images.csv"))}
    by_class: dict[str, list[str]] = defaultdict(list)
    for path in sorted((args.source / "images").glob("*.jpg")):
        label = rows.get(path.stem, {}).get("label", "")
        by_class["" if label in UNLABELLED else label].append(path.stem)
    rng = random.Random(args.seed)
    chosen: list[tuple[str, str]] = []
    for label, stems in sorted(by_class.items()):
        rng.shuffle(stems)
        cap = args.unlabelled if label == "" else args.per_class
        chosen += [(s, label) for s in sorted(stems[:cap])]

    out_images = args.dest / "images"
    out_images.mkdir(parents=True, exist_ok=True)
    with open(args.dest / "catalog.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "kids", "sender_id"])
        for stem, label in chosen:
            with Image.open(args.source / "images" / f"{stem}.jpg") as im:
                im = ImageOps.exif_transpose(im).convert("RGB")
                im.thumbnail((args.long_side, args.long_side), Image.Resampling.LANCZOS)
                im.save(out_images / f"{stem}.jpg", quality=82, optimize=True)
            row = rows.get(stem, {})
            writer.writerow([f"images/{stem}.jpg", label, row.get("kids", ""), row.get("sender_id", "")])
    shutil.copy(args.source / "LICENSE", args.dest / "LICENSE")
    print(f"{len(chosen)} photos written to {args.dest}")


if __name__ == "__main__":
    main()
