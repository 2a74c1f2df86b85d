"""The stylist's workbench: look-book PDF time and size, ZIP export throughput, filter response.

- look-book PDF (and HTML) of a 50-item board: seconds and MB;
- ZIP export of up to 2,000 items (the originals where they are still on disk, else the stored
  copies): MB/s, and the process's peak resident memory while streaming against its size
  before (a stream holds one image at a time, so it stays flat);
- the filter on 50,000 points: :func:`core.filters.mask` for single facets and a combination,
  and the Explore map's figure with greyed points (``build_figure(keep=...)``) against without.

The workspace (``--workspace``) is copied to a temporary folder first (the board is written to
the copy's annotations); it needs items and images only.

    .venv/bin/python bench/bench_workbench.py --workspace WS [--board-size 50] [--zip-items 2000] [--points 50000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import export  # noqa: E402
from core.boards import Boards  # noqa: E402
from core.filters import Filter, mask  # noqa: E402
from core.workspace import Workspace  # noqa: E402


class PeakRSS:
    """The process's peak resident memory, sampled every 5 ms while in the block."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.005)

    def __enter__(self) -> PeakRSS:
        self.before = self.proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed_export(ws: Workspace, sel: export.Selection, fmt: str, out: Path) -> tuple[float, int, PeakRSS]:
    with PeakRSS() as rss:
        t0 = time.perf_counter()
        size = export.write(ws, sel, fmt, out)
        seconds = time.perf_counter() - t0
    return seconds, size, rss


def bench_exports(ws: Workspace, board_size: int, zip_items: int, tmp: Path) -> None:
    ids = ws.items()["item_id"].tolist()
    rng = np.random.default_rng(0)
    picked = [ids[i] for i in rng.choice(len(ids), size=min(board_size, len(ids)), replace=False)]
    board = Boards(ws.annotations_path).create(f"bench {board_size}", "A look-book for the benchmark.", picked)
    sel = export.from_board(ws, board.board_id)
    for fmt in ("pdf", "html"):
        export.write(ws, sel, fmt, tmp / f"warm.{fmt}")  # fonts, imports
        runs = [timed_export(ws, sel, fmt, tmp / f"board.{fmt}") for _ in range(3)]
        seconds = statistics.median(r[0] for r in runs)
        print(f"look-book {fmt.upper():4} {len(sel)} pieces: {seconds:.2f} s (median of 3), "
              f"{runs[0][1] / 1e6:.1f} MB, {runs[0][1] / len(sel) / 1e3:.0f} kB a piece")
    n = min(zip_items, len(ids), export.MAX_EXPORT_ITEMS)
    sel = export.from_ids(ws, ids[:n], "tray", "bench")
    seconds, size, rss = timed_export(ws, sel, "zip", tmp / "tray.zip")
    print(f"ZIP {n} items: {size / 1e6:.1f} MB in {seconds:.2f} s = {size / 1e6 / seconds:.0f} MB/s, "
          f"{n / seconds:.0f} items/s; peak RSS {rss.peak / 2**20:.0f} MiB "
          f"({(rss.peak - rss.before) / 2**20:+.0f} MiB over the {rss.before / 2**20:.0f} MiB before)")
    seconds, size, _ = timed_export(ws, sel, "csv", tmp / "tray.csv")
    print(f"CSV {n} items: {size / 1e3:.0f} kB in {seconds * 1000:.0f} ms")


def synthetic_table(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, set[str]], dict[int, set[str]]]:
    ids = np.array([f"{i:016x}" for i in range(n)])
    labels = np.array(["Dress", "Shoes", "Hat", "Pants", "Shirt", "Skirt", "Coat", ""])
    colours = np.array(["red", "blue", "black", "white", "green", "beige", "grey", "pink"])
    table = pd.DataFrame({
        "item_id": ids,
        "label": labels[rng.integers(0, len(labels), n)],
        "cluster": pd.array(rng.integers(0, 40, n), dtype="Int64"),
        "novel": rng.random(n) < 0.05,
        "colour_family": colours[rng.integers(0, len(colours), n)],
        "season": np.array(["summer", "winter", "all"])[rng.integers(0, 3, n)],
        "price": rng.gamma(2.0, 40.0, n).round(2),
    })
    tags = {"sale": set(rng.choice(ids, 5000, replace=False)), "new": set(rng.choice(ids, 500, replace=False))}
    boards = {1: set(rng.choice(ids, 50, replace=False))}
    return table, tags, boards


def bench_filter(points: int) -> None:
    from components.explore import build_figure

    rng = np.random.default_rng(0)
    table, tags, boards = synthetic_table(points, rng)
    cases = {
        "label": Filter(labels=("Dress", "Shoes")),
        "cluster": Filter(clusters=tuple(range(10))),
        "tag (5,000 tagged)": Filter(tags=("sale",)),
        "board": Filter(boards=(1,)),
        "colour family": Filter(colours=("red", "pink")),
        "novelty": Filter(novelty="novel"),
        "numeric range": Filter(ranges=(("price", 20.0, 120.0),)),
        "all of them": Filter(labels=("Dress", "Shoes"), tags=("sale",), colours=("red", "pink"),
                              columns=(("season", ("summer",)),), ranges=(("price", 20.0, 120.0),)),
    }
    for name, f in cases.items():
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            keep = mask(table, f, tags, boards)
            times.append(time.perf_counter() - t0)
        print(f"filter {points:,} points, {name:18}: {statistics.median(times) * 1000:6.1f} ms (median of 7), "
              f"{int(keep.sum()):,} pass")
    frame = table.assign(x=rng.normal(size=points).astype(np.float32), y=rng.normal(size=points).astype(np.float32),
                         dominant_colour="#aa3344", confidence=0.5)
    frame["cluster"] = frame["cluster"].astype(int)
    keep = mask(table, cases["tag (5,000 tagged)"], tags, boards)
    for label, k in (("without a filter", None), ("with greyed points", keep)):
        times, sizes = [], []
        for _ in range(5):
            t0 = time.perf_counter()
            fig = build_figure(frame, "cluster", {}, k)
            times.append(time.perf_counter() - t0)
            sizes.append(len(json.dumps(fig)))
        print(f"map figure, {points:,} points, {label:18}: {statistics.median(times) * 1000:6.1f} ms, "
              f"{sizes[0] / 1e6:.2f} MB of JSON")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, help="a workspace with items and images (copied first)")
    ap.add_argument("--board-size", type=int, default=50)
    ap.add_argument("--zip-items", type=int, default=2000)
    ap.add_argument("--points", type=int, default=50_000)
    args = ap.parse_args()
    bench_filter(args.points)
    if args.workspace is None:
        print("no --workspace: PDF and ZIP figures skipped")
        return
    with tempfile.TemporaryDirectory(prefix="bench-workbench-") as tmp:
        root = Path(tmp) / "ws"
        shutil.copytree(args.workspace, root, ignore=shutil.ignore_patterns("cache", "features"))
        bench_exports(Workspace.open(root), args.board_size, args.zip_items, Path(tmp))


if __name__ == "__main__":
    main()
