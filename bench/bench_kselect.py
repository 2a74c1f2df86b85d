"""Does the method choose k well? Chosen k against the true class count on labelled catalogs.

    python bench/bench_kselect.py --workspace WS [--workspace WS2 ...]   # labelled, embedded workspaces
    python bench/bench_kselect.py --catalog images.csv --scratch DIR     # ingest + embed a CSV into DIR first
    python bench/bench_kselect.py --fashion-mnist --scratch DIR [--limit N]

For each catalog, and for subsets of 5, 10 and 15 of its classes (every other subset with classes
cut to unequal sizes), it fits the pipeline's clustering (``ClusterConfig()``: k chosen by the
method from k_init / k_max) with 3 seeds and prints, means over the seeds: the chosen k against
the true count, NMI / ACC at the chosen k, plain k-means on the same features at the true k and
at the chosen k. Labels are read only to score. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _labelled(ws: Any, backbone: str) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Features (N, D), views (N, V, D) or None, labels (N,) str of the labelled items."""
    from core.cluster.step import _catalog_labels
    from core.embed.artifact import load_features

    fs = load_features(ws, backbone)
    labels = _catalog_labels(ws, fs.ids)
    if labels is None:
        raise SystemExit(f"{ws.root} has no labels")
    keep = np.flatnonzero([v is not None and v not in ("Not sure", "Other", "Skip") for v in labels])
    X = np.asarray(fs.features, np.float32)[keep]
    V = None if fs.views is None else np.asarray(fs.views, np.float32)[keep]
    return X, V, labels[keep].astype(str)


def _subsets(y: np.ndarray, sizes: tuple[int, ...], seed: int) -> list[tuple[str, np.ndarray]]:
    """(name, row indices) of the whole catalog and of class subsets; odd ones of unequal size."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    out = [(f"all {len(classes)}", np.arange(len(y)))]
    for i, n in enumerate(s for s in sizes if s < len(classes)):
        chosen = rng.choice(classes, n, replace=False)
        rows = []
        for c in chosen:
            members = np.flatnonzero(y == c)
            if i % 2 == 1:  # unequal sizes: keep 25 %..100 % of each class
                members = rng.choice(members, max(10, int(len(members) * rng.uniform(0.25, 1.0))), replace=False)
            rows.append(members)
        out.append((f"{n} classes{' unequal' if i % 2 else ''}", np.sort(np.concatenate(rows))))
    return out


def _one(X: np.ndarray, V: np.ndarray | None, y: np.ndarray, seed: int, cfg: Any) -> dict[str, float]:
    from core.cluster import AdaptiveDeepCluster, effective_config
    from core.cluster.baseline import plain_kmeans
    from core.metrics import evaluate

    run_cfg = replace(effective_config(cfg, len(X), 0 if V is None else V.shape[1], X.shape[1]), random_state=seed)
    t0 = time.perf_counter()
    model = AdaptiveDeepCluster(**run_cfg.estimator_params()).fit(X, views=V)
    seconds = time.perf_counter() - t0
    s = evaluate(y, model.labels_)
    k_true = len(np.unique(y))
    labels = y.astype(object)
    at_true = plain_kmeans(X, k_true, labels, seed)
    at_chosen = plain_kmeans(X, model.k_, labels, seed)
    return {"k": model.k_, "nmi": s["nmi"], "acc": s["acc"], "km_true_nmi": at_true["nmi"], "km_true_acc": at_true["acc"],
            "km_chosen_nmi": at_chosen["nmi"], "seconds": seconds}


def bench(X: np.ndarray, V: np.ndarray | None, y: np.ndarray, name: str, seeds: tuple[int, ...],
          sizes: tuple[int, ...], cfg: Any) -> list[dict[str, Any]]:
    rows = []
    for sub_name, rows_idx in _subsets(y, sizes, seed=0):
        runs = [_one(X[rows_idx], None if V is None else V[rows_idx], y[rows_idx], s, cfg) for s in seeds]
        k_true = len(np.unique(y[rows_idx]))
        mean = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
        row = {"catalog": name, "subset": sub_name, "n": int(len(rows_idx)), "k_true": k_true,
               "k_chosen": [r["k"] for r in runs], **{k: round(v, 4) for k, v in mean.items()},
               "k_within_30pct": bool(abs(mean["k"] - k_true) <= 0.3 * k_true),
               "nmi_ge_kmeans_true": bool(mean["nmi"] >= mean["km_true_nmi"])}
        rows.append(row)
        print(f"{name:>14} | {sub_name:>18} | n {row['n']:>5} | k true {k_true:>2} chosen {row['k_chosen']} "
              f"(mean {mean['k']:.1f}) | NMI {mean['nmi']:.3f} ACC {mean['acc']:.3f} | k-means@true NMI "
              f"{mean['km_true_nmi']:.3f} ACC {mean['km_true_acc']:.3f} | k-means@chosen NMI {mean['km_chosen_nmi']:.3f}"
              f" | {mean['seconds']:.0f} s/fit", flush=True)
    return rows


def _workspace_from_csv(csv: Path, root: Path, backbone_model: str) -> Any:
    from core import pipeline
    from core.workspace import Workspace

    ws = Workspace(root)
    pipeline.ingest(ws, csv, skip_missing=True)
    pipeline.embed(ws, backbone_model)
    return ws


def main() -> None:
    from core.cluster import ClusterConfig
    from core.embed.spec import get_spec
    from core.workspace import Workspace

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workspace", type=Path, action="append", default=[], help="a labelled, embedded workspace")
    p.add_argument("--catalog", type=Path, action="append", default=[], help="a labelled CSV (path,label,...)")
    p.add_argument("--fashion-mnist", action="store_true", help="the Fashion-MNIST test set")
    p.add_argument("--limit", type=int, default=None, help="fashion-mnist: the first N images")
    p.add_argument("--scratch", type=Path, default=Path("bench-scratch"), help="where --catalog / --fashion-mnist "
                   "workspaces are built (kept, so a second run reuses the features)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--subsets", default="5,10,15")
    p.add_argument("--no-views", action="store_true", help="cluster without the augmented views")
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = p.parse_args()
    cfg = ClusterConfig(use_views=not args.no_views)
    seeds = tuple(int(s) for s in args.seeds.split(","))
    sizes = tuple(int(s) for s in args.subsets.split(",")) if args.subsets else ()
    model_name = get_spec(cfg.backbone).model_name
    catalogs: list[tuple[str, Any]] = [(ws.name, Workspace(ws, create=False)) for ws in args.workspace]
    for csv in args.catalog:
        catalogs.append((csv.parent.name, _workspace_from_csv(csv, args.scratch / csv.parent.name, model_name)))
    if args.fashion_mnist:
        from core.fashion_mnist import write_png_folder

        root = args.scratch / "fashion-mnist"
        csv = root / "source" / "labels.csv"
        if not csv.is_file():
            write_png_folder(root / "source", split="test", limit=args.limit)
        catalogs.append(("fashion-mnist", _workspace_from_csv(csv, root / "workspace", model_name)))
    all_rows = []
    for name, ws in catalogs:
        X, V, y = _labelled(ws, cfg.backbone)
        all_rows += bench(X, V if cfg.use_views else None, y, name, seeds, sizes, cfg)
    ok_k = sum(r["k_within_30pct"] for r in all_rows)
    ok_nmi = sum(r["nmi_ge_kmeans_true"] for r in all_rows)
    print(f"chosen k within ±30 %: {ok_k}/{len(all_rows)}; NMI at chosen k >= k-means at true k: {ok_nmi}/{len(all_rows)}")
    if args.json:
        args.json.write_text(json.dumps(all_rows, indent=1))


if __name__ == "__main__":
    main()
