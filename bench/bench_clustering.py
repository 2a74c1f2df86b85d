"""Clustering benchmarks; prints figures, asserts nothing.

    python bench/bench_clustering.py reassign            # one re-assignment step, 70,000 x 256
    python bench/bench_clustering.py demo --workspace WS # tuned vs plain k-means NMI, same run
    python bench/bench_clustering.py fashion-mnist       # ACC / NMI through `evaluate`
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

    from core.clustering import AdaptiveDeepCluster, _class_means, _unit
    from core.novelty import NoveltyConfig, centroid_distances, novel_mask

    X, _ = make_blobs(n, n_features=d, centers=k, cluster_std=4.0, random_state=0)
    Z = _unit(X.astype(np.float32))
    model = AdaptiveDeepCluster(k_init=k, k_max=k, equipartition=equipartition)
    rng = np.random.default_rng(0)
    prev = model._kmeans(Z, k, None, 0)  # a realistic previous state: converged centroids
    prev_labels = centroid_distances(Z, prev).nearest
    times = []
    for r in range(repeats):
        Zr = _unit(Z + rng.normal(0, 0.01, Z.shape).astype(np.float32))  # the head moved a little
        t0 = time.perf_counter()
        init = _class_means(Zr, prev_labels, k, prev)
        centroids = model._kmeans(Zr, k, init, r)
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

    from core.cli_cluster import EVAL_CONFIG, evaluate_workspace
    from core.cluster_step import ClusterConfig
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

    from core import cli_cluster

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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("which", choices=["reassign", "demo", "fashion-mnist"])
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
    else:
        bench_fashion_mnist(args.limit, rest)


if __name__ == "__main__":
    main()
