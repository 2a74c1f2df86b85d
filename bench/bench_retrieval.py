"""Plain similarity, frozen against served, on every catalog it is used on; one run.

    nice -n 10 .venv/bin/python bench/bench_retrieval.py \\
        --catalog demo=/work/scratch/features/demo-full/ws \\
        --catalog fmnist=/work/scratch/features/fmnist-views/ws

Each catalog is a workspace with ``features/efficientnet-lite0`` and its augmented views (a
writable copy: the run adds ``similarity/bench-*`` artifacts). The similarity step is trained
twice per catalog with the pipeline's defaults: as the product builds it (catalog labels used as
positives where the catalog has them) and as on an unlabelled catalog (``label_positives=False``).
For each, on the step's held-out validation items (never trained on): label precision@10 and
top-1/5/10 retrieval of an item's first augmented view, in the frozen features, in the tuned
embedding and in the space the product serves (``serve=auto``'s choice). Prints a markdown
table; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.similarity.config import SimilarityConfig  # noqa: E402
from core.similarity.step import train_similarity  # noqa: E402
from core.workspace import Workspace  # noqa: E402

METRICS = ("label_precision_at_10", "partner_top1", "partner_top5", "partner_top10")


def row(catalog: str, how: str, space: str, m: dict) -> str:
    vals = " | ".join(f"{m[k]:.3f}" if k in m else "–" for k in METRICS)
    return f"| {catalog} | {how} | {space} | {vals} |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--catalog", action="append", required=True, metavar="NAME=WORKSPACE")
    args = p.parse_args()
    print("| catalog | similarity trained | space | label P@10 | view top-1 | view top-5 | view top-10 |")
    print("|---|---|---|---|---|---|---|")
    for spec in args.catalog:
        name, _, root = spec.partition("=")
        ws = Workspace(root, create=False)
        for how, cfg in (("as built (labels as positives)", SimilarityConfig(shipped_directions=None)),
                         ("unlabelled (views only)", SimilarityConfig(shipped_directions=None, label_positives=False))):
            t0 = time.perf_counter()
            ev = train_similarity(ws, cfg, run_id="bench-" + ("labels" if cfg.label_positives else "views"))["evaluation"]
            served = ev["served"]["space"]
            print(row(name, how, "frozen", ev["frozen"]))
            print(row(name, how, "tuned", ev["tuned"]))
            print(row(name, how, f"served ({served}: {ev['served']['reason']}; {time.perf_counter() - t0:.0f} s)",
                      ev[served]), flush=True)


if __name__ == "__main__":
    main()
