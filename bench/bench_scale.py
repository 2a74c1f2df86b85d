"""Every build step at catalog scale: time and peak memory, each in a fresh process.

    nice .venv/bin/python bench/bench_scale.py --n 50000 [--n 200000] [--stages cluster,similarity,annoy,umap]
        [--dir /work/scratch/me]

A synthetic workspace of N items is written a block at a time (never whole in memory):
``features/efficientnet-lite0`` as memory-mapped float32 (N, 1280) features + (N, 2, 1280)
views (about 1 GB + 2 GB at 200,000) drawn around 20 non-negative centres, with catalog labels.
Then, each stage in a fresh ``spawn`` process so its peak is its own:

- ``cluster``: ``cluster_workspace`` with the pipeline defaults on these (pooled) features;
- ``similarity``: ``train_similarity`` (triplet head, evaluation, Annoy build with measured
  settings), without the shipped direction sets;
- ``annoy``: ``build_measured`` alone on the similarity step's served embeddings;
- ``umap``: ``project_workspace`` (fitted on a sample above ``ProjectionConfig.fit_sample``).

Peak heap is RssAnon sampled every 0.1 s (memory-mapped feature pages are not heap); peak RSS
(``ru_maxrss``) counts the mapped pages the process touched. Prints figures; asserts nothing.
The grid features the pipeline clusters by default (5120-d): ``bench_clustering.py scale``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clustering import _AnonPeak  # noqa: E402

BACKBONE = "efficientnet-lite0"
DIM = 1280
STAGES = ("cluster", "similarity", "annoy", "umap")
GIB = 2**30


def synthetic(root: Path, n: int, k: int = 20, views: int = 2, seed: int = 0, block: int = 5000) -> None:
    """Write the workspace described in the module doc at ``root``."""
    import pandas as pd

    from core.workspace import Workspace

    rng = np.random.default_rng(seed)
    centres = np.maximum(rng.normal(0, 1, (k, DIM)), 0).astype(np.float32)
    labels = rng.integers(0, k, n)
    ids = np.array([f"{i:016x}" for i in range(n)])
    ws = Workspace(root)
    with ws.write_artifact("items", config={}) as tmp:
        pd.DataFrame({"item_id": ids, "source": [f"/synthetic/{i}.jpg" for i in range(n)],
                      "label": [f"c{c}" for c in labels]}).to_parquet(tmp / "items.parquet", index=False)
    with ws.write_artifact(f"features/{BACKBONE}", config={}, parents={"items": 1}) as tmp:
        np.save(tmp / "ids.npy", ids.astype("U16"))
        feats = np.lib.format.open_memmap(tmp / "features.npy", "w+", np.float32, (n, DIM))
        vws = np.lib.format.open_memmap(tmp / "views.npy", "w+", np.float32, (n, views, DIM))
        for s in range(0, n, block):
            base = centres[labels[s : s + block]] + rng.normal(0, 0.8, (len(labels[s : s + block]), DIM)).astype(np.float32)
            feats[s : s + block] = np.maximum(base, 0)
            for v in range(views):
                vws[s : s + block, v] = np.maximum(base + rng.normal(0, 0.3, base.shape).astype(np.float32), 0)
        feats.flush()
        vws.flush()
        del feats, vws
        np.save(tmp / "topk_idx.npy", np.zeros((n, 5), np.int16))
        np.save(tmp / "topk_prob.npy", np.full((n, 5), 0.2, np.float32))


def _stage(name: str, root: str, out: str) -> None:
    """One stage, in a fresh process, measured; writes its figures to ``out``."""
    from core.workspace import Workspace

    ws = Workspace.open(root)
    base = _AnonPeak.now()
    extra: dict = {}
    t0 = time.perf_counter()
    with _AnonPeak() as anon:
        if name == "cluster":
            from core.cluster import ClusterConfig, cluster_workspace

            res = cluster_workspace(ws, ClusterConfig(backbone=BACKBONE), run_id="scale")
            extra = {"k": len(res.clusters)}
        elif name == "similarity":
            from core.similarity.config import SimilarityConfig
            from core.similarity.step import train_similarity

            summary = train_similarity(ws, SimilarityConfig(backbone=BACKBONE, shipped_directions=None), run_id="scale")
            ev = summary["evaluation"]
            extra = {"served": ev["served"]["space"], "recall_at_10": summary["index"].get("recall_at_10"),
                     "n_trees": summary["index"].get("n_trees"), "n_queries": ev.get("n_queries")}
        elif name == "annoy":
            from core.similarity.index import build_measured

            folder = ws.artifact_dir("similarity/scale")
            emb = np.load(folder / "embeddings.npy", mmap_mode="r")
            index = build_measured(emb, np.load(folder / "ids.npy"), seed=0)
            extra = {"dim": int(emb.shape[1]), "recall_at_10": index.meta.get("recall_at_10"),
                     "n_trees": index.meta.get("n_trees")}
        elif name == "umap":
            from core.projection import ProjectionConfig, project_workspace

            project_workspace(ws, f"features/{BACKBONE}", run_id="scale")
            extra = {"fit_sample": ProjectionConfig().fit_sample}
        else:
            raise ValueError(name)
    Path(out).write_text(json.dumps({
        "seconds": time.perf_counter() - t0, "anon_peak": anon.peak, "anon_base": base,
        "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, **extra,
    }))


def run(n: int, stages: list[str], folder: Path | None) -> None:
    root = Path(tempfile.mkdtemp(prefix="atlas-scale-", dir=folder))
    try:
        t0 = time.perf_counter()
        synthetic(root / "ws", n)
        on_disk = sum(f.stat().st_size for f in (root / "ws").rglob("*.npy"))
        print(f"{n:,} items: {on_disk / GIB:.2f} GiB of memory-mapped features + views written in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
        for name in stages:
            out = root / f"{name}.json"
            proc = multiprocessing.get_context("spawn").Process(target=_stage, args=(name, str(root / "ws"), str(out)))
            proc.start()
            proc.join()
            if proc.exitcode != 0 or not out.exists():
                print(f"{n:,} {name}: failed (exit code {proc.exitcode})", flush=True)
                continue
            r = json.loads(out.read_text())
            rest = {k: v for k, v in r.items() if k not in ("seconds", "anon_peak", "anon_base", "maxrss")}
            print(f"{n:,} {name}: {r['seconds']:.0f} s; peak heap {r['anon_peak'] / GIB:.2f} GiB "
                  f"({(r['anon_peak'] - r['anon_base']) / GIB:.2f} above imports); peak RSS incl. mapped pages "
                  f"{r['maxrss'] / GIB:.2f} GiB; {json.dumps(rest)}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, action="append", help="items (repeat for several sizes; default 50,000 then 200,000)")
    p.add_argument("--stages", default=",".join(STAGES))
    p.add_argument("--dir", type=Path, default=None, help="where the temporary workspaces go")
    args = p.parse_args()
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    bad = sorted(set(stages) - set(STAGES))
    if bad:
        p.error(f"unknown stages {bad}; choose from {', '.join(STAGES)}")
    for n in args.n or [50_000, 200_000]:
        run(n, stages, args.dir)


if __name__ == "__main__":
    main()
