"""Clustering benchmarks; prints figures, asserts nothing.

    python bench/bench_clustering.py reassign            # one re-assignment step, 70,000 x 256
    python bench/bench_clustering.py demo --workspace WS # tuned vs plain k-means NMI, same run
    python bench/bench_clustering.py fashion-mnist       # ACC / NMI through `evaluate`
    python bench/bench_clustering.py scale --n 50000     # time and peak memory of `cluster` at scale
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def bench_reassign(n: int = 70_000, d: int = 256, k: int = 25, repeats: int = 3, equipartition: bool = False) -> None:
    """Time one DeepCluster re-assignment: warm-started MiniBatchKMeans on the head embeddings
    (with ``equipartition``, plus its warm balanced refinement), nearest centroids, and the
    novelty test."""
    from sklearn.datasets import make_blobs

    from core.cluster import ClusterConfig
    from core.cluster.distances import centroid_distances, unit
    from core.cluster.novelty import NoveltyConfig, novel_mask
    from core.cluster.pseudo_labels import class_means, kmeans

    X, _ = make_blobs(n, n_features=d, centers=k, cluster_std=4.0, random_state=0)
    Z = unit(X.astype(np.float32))
    cfg = ClusterConfig()
    opts = dict(batch_size=cfg.kmeans_batch_size, max_iter=cfg.kmeans_max_iter, equipartition=equipartition)
    rng = np.random.default_rng(0)
    prev = kmeans(Z, k, None, 0, **opts)  # a realistic previous state: converged centroids
    prev_labels = centroid_distances(Z, prev).nearest
    times = []
    for r in range(repeats):
        Zr = unit(Z + rng.normal(0, 0.01, Z.shape).astype(np.float32))  # the head moved a little
        t0 = time.perf_counter()
        init = class_means(Zr, prev_labels, k, prev)
        centroids = kmeans(Zr, k, init, r, **opts)
        dist = centroid_distances(Zr, centroids)
        novel = novel_mask(dist, NoveltyConfig())
        times.append(time.perf_counter() - t0)
    what = "with equipartition" if equipartition else "plain"
    print(f"re-assignment step ({what}), {n} x {d}, k={k}: best {min(times):.3f} s, median {np.median(times):.3f} s "
          f"(novel {int(novel.sum())})")


def _baselines(base: dict) -> str:
    """Plain k-means on the clustered features, and on pooled lite0 where the summary has it."""
    pooled = base.get("pooled") or base
    return (f"plain k-means on the same features ({base['features']}) acc {base['acc']:.4f} nmi {base['nmi']:.4f} "
            f"| on pooled lite0 acc {pooled['acc']:.4f} nmi {pooled['nmi']:.4f}")


def bench_demo(workspace: Path, k: int | None, backbone: str | None = None) -> None:
    """Tuned clustering vs plain k-means (same k) on a demo workspace, labelled items only;
    ``backbone``: the features to cluster (default: the pipeline's, lite0's 2×2 grid)."""
    from dataclasses import replace

    from core.cli.cluster import EVAL_CONFIG, evaluate_workspace
    from core.cluster import ClusterConfig
    from core.workspace import Workspace

    ws = Workspace.open(workspace)
    items = ws.items()
    n_classes = int(items["label"].replace("", None).dropna().nunique())
    k = k or n_classes
    for name, cfg in (
        ("pipeline defaults", ClusterConfig(k_init=k, k_max=k)),
        ("evaluate settings", replace(EVAL_CONFIG, k_init=k, k_max=k)),
    ):
        cfg = replace(cfg, backbone=backbone or cfg.backbone)
        t0 = time.perf_counter()
        out = evaluate_workspace(ws, cfg, run_id="bench")
        print(f"demo [{name}] k={out['k']} on {out['n_labelled']} labelled items: tuned nmi {out['nmi']:.4f} "
              f"acc {out['acc']:.4f} | {_baselines(out['baseline'])} ({time.perf_counter() - t0:.0f} s)")
        sys.stdout.flush()


def bench_fashion_mnist(limit: int | None, extra: list[str]) -> None:
    """The `evaluate fashion-mnist` command, timed end to end (ingest, embed, cluster)."""
    import contextlib
    import io

    from core.cli import cluster as cli_cluster

    parser = argparse.ArgumentParser()
    cli_cluster.register(parser.add_subparsers(dest="command"))
    argv = ["evaluate", "fashion-mnist", "--json", *extra] + (["--limit", str(limit)] if limit else [])
    args = parser.parse_args(argv)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        args.handler(args)
    out = json.loads(buf.getvalue())
    print(f"fashion-mnist ({out['n_items']} items, k={out['k']}): acc {out['acc']:.4f} nmi {out['nmi']:.4f} "
          f"ari {out['ari']:.4f} purity {out['purity']:.4f} | {_baselines(out['baseline'])} "
          f"| {out['seconds']} s total, clustering {out['cluster_seconds']} s")
    print("  per-class F1:", json.dumps({c: round(v, 3) for c, v in out["f1"].items()}))


def _synthetic_workspace(root: Path, n: int, k: int = 20, d: int = 5120, views: int = 2, seed: int = 0):
    """A workspace of ``n`` items with memory-mapped grid (n, d) + views (n, views, d) and pooled
    (n, 1280) features drawn around ``k`` non-negative centres, written in blocks (never whole
    in memory); returns it and the planted labels (n,)."""
    import pandas as pd

    from core.workspace import Workspace

    rng = np.random.default_rng(seed)
    centres = np.maximum(rng.normal(0, 1, (k, d)), 0).astype(np.float32)
    labels = rng.integers(0, k, n)
    ids = np.array([f"{i:016x}" for i in range(n)])
    ws = Workspace(root)
    with ws.write_artifact("items", config={}) as tmp:
        pd.DataFrame({"item_id": ids, "source": [f"/synthetic/{i}.jpg" for i in range(n)],
                      "label": [f"c{c}" for c in labels]}).to_parquet(tmp / "items.parquet", index=False)
    for name, dim in (("efficientnet-lite0-2x2", d), ("efficientnet-lite0", 1280)):
        with ws.write_artifact(f"features/{name}", config={}, parents={"items": 1}) as tmp:
            np.save(tmp / "ids.npy", ids.astype("U16"))
            feats = np.lib.format.open_memmap(tmp / "features.npy", "w+", np.float32, (n, dim))
            vws = np.lib.format.open_memmap(tmp / "views.npy", "w+", np.float32, (n, views, dim))
            for s in range(0, n, 2000):
                lab = labels[s : s + 2000]
                base = centres[lab][:, :dim] + rng.normal(0, 0.8, (len(lab), dim)).astype(np.float32)
                feats[s : s + 2000] = np.maximum(base, 0)
                for v in range(views):
                    vws[s : s + 2000, v] = np.maximum(base + rng.normal(0, 0.3, base.shape).astype(np.float32), 0)
            feats.flush()
            vws.flush()
            del feats, vws
            np.save(tmp / "topk_idx.npy", np.zeros((n, 5), np.int16))
            np.save(tmp / "topk_prob.npy", np.full((n, 5), 0.2, np.float32))
    return ws, labels


class _AnonPeak:
    """Peak anonymous memory (RssAnon: heap, not memory-mapped file pages) of this process,
    sampled every 0.1 s in a thread; memory-mapped features count in RSS but not here."""

    def __init__(self) -> None:
        import threading

        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now() -> int:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.now())

    def __enter__(self) -> _AnonPeak:
        self.peak = self.now()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def _cluster_child(root: str, n: int, out: str) -> None:
    """Run in a fresh process: `cluster` with the pipeline defaults, measured."""
    import resource

    from core.cluster import ClusterConfig, cluster_workspace
    from core.workspace import Workspace

    ws = Workspace.open(root)
    base = _AnonPeak.now()
    t0 = time.perf_counter()
    with _AnonPeak() as anon:
        res = cluster_workspace(ws, ClusterConfig(), run_id="scale")
    Path(out).write_text(json.dumps({
        "seconds": time.perf_counter() - t0, "k": len(res.clusters), "labels": res.labels.tolist(),
        "anon_peak": anon.peak, "anon_base": base,
        "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


def bench_scale(n: int, folder: Path | None) -> None:
    """`cluster` with the pipeline's defaults on ``n`` synthetic items of 2×2-grid features with
    2 views (memory-mapped, as a real workspace holds them): seconds and peak memory, measured
    in a fresh process."""
    import multiprocessing
    import shutil
    import tempfile

    from core.cluster import ClusterConfig, effective_config
    from core.metrics import nmi

    root = Path(tempfile.mkdtemp(prefix="atlas-scale-", dir=folder))
    try:
        t0 = time.perf_counter()
        _ws, labels = _synthetic_workspace(root / "ws", n)
        on_disk = sum(f.stat().st_size for f in (root / "ws").rglob("*.npy"))
        print(f"scale: {n:,} items, 5120-d grid + 2 views + 1280-d pooled: {on_disk / 2**30:.2f} GiB of features "
              f"written in {time.perf_counter() - t0:.0f} s")
        sys.stdout.flush()
        eff = effective_config(ClusterConfig(), n, 2, 5120)
        out = root / "result.json"
        proc = multiprocessing.get_context("spawn").Process(target=_cluster_child, args=(str(root / "ws"), n, str(out)))
        proc.start()
        proc.join()
        r = json.loads(out.read_text())
        score = nmi(np.asarray([f"c{c}" for c in labels]), np.asarray(r["labels"]))
        head_inputs = n * 3 * 5120 * 4 / 2**30
        gib = 2**30
        print(f"scale: cluster (pipeline defaults; PCA {eff.pca_dim}) {r['seconds']:.0f} s, k={r['k']}, "
              f"NMI vs planted {score:.3f}")
        print(f"scale: peak heap (RssAnon) {r['anon_peak'] / gib:.2f} GiB ({(r['anon_peak'] - r['anon_base']) / gib:.2f} "
              f"GiB above the {r['anon_base'] / gib:.2f} GiB after imports) for {head_inputs:.2f} GiB of head inputs; "
              f"peak RSS incl. memory-mapped features {r['maxrss'] / gib:.2f} GiB")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("which", choices=["reassign", "demo", "fashion-mnist", "scale"])
    p.add_argument("--n", type=int, default=50_000, help="scale: synthetic items")
    p.add_argument("--dir", type=Path, default=None, help="scale: where to write the temporary workspace")
    p.add_argument("--workspace", type=Path, help="demo: a workspace with lite0 features of the demo catalog")
    p.add_argument("--k", type=int, default=None, help="demo: k (default: number of labelled classes)")
    p.add_argument("--backbone", default=None,
                   help="demo: features to cluster (default efficientnet-lite0-2x2; e.g. efficientnet-lite2-2x2 "
                        "after `python -m core embed --backbone efficientnet-lite2`)")
    p.add_argument("--limit", type=int, default=None, help="fashion-mnist: first N test images only")
    args, rest = p.parse_known_args()  # fashion-mnist: anything else goes to `evaluate`
    if args.which == "reassign":
        bench_reassign()
        bench_reassign(equipartition=True)
    elif args.which == "demo":
        if args.workspace is None:
            p.error("demo needs --workspace WS (e.g. built by `python -m core run --workspace WS`)")
        bench_demo(args.workspace, args.k, args.backbone)
    elif args.which == "scale":
        bench_scale(args.n, args.dir)
    else:
        bench_fashion_mnist(args.limit, rest)


if __name__ == "__main__":
    main()
