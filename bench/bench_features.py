"""Which features the clustering should run on: frozen grids, combined grids, colour; one run.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/bench_features.py \\
        --catalog fmnist=/work/scratch/features/fashion-mnist/ws \\
        --catalog demo=/work/scratch/features/demo/ws \\
        --catalog cc0=/work/scratch/features/cc0/ws        # workspaces from bench/feature_catalogs.py

For every catalog (a workspace with a ``label`` column; k = its number of labelled classes) and
every feature option, the mean over ``--seeds`` seeds of: plain k-means (n_init 3) NMI / ACC at
the true k, and the product's clustering (``AdaptiveDeepCluster`` with the pipeline's defaults,
k fixed to the true k so that only the features differ) NMI / ACC. Fitting sees every item and
no label; labels only score the labelled items. Options are :mod:`core.embed.combined`'s blocks
(each L2-normalised per item, colour as Hellinger); ``raw`` rows are a backbone's artifact as
the product clusters it today. Prints a markdown table; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.cluster.config import ClusterConfig, effective_config  # noqa: E402
from core.cluster.estimator import AdaptiveDeepCluster  # noqa: E402
from core.embed.artifact import load_features  # noqa: E402
from core.embed.combined import combine  # noqa: E402
from core.embed.spec import REGISTRY, get_spec  # noqa: E402
from core.metrics import hungarian_accuracy, nmi  # noqa: E402
from core.workspace import Workspace  # noqa: E402

L0, L2, COLOUR = "efficientnet-lite0-2x2", "efficientnet-lite2-2x2", "colour-histogram"
# name → None (the raw artifact of the first backbone, as today) or [(backbone, weight), ...]
OPTIONS: dict[str, tuple[str, list[tuple[str, float]] | None]] = {
    "lite0-2x2 raw (today)": (L0, None),
    "lite2-2x2 raw": (L2, None),
    "lite0-2x2 normalised": (L0, [(L0, 1.0)]),
    "lite0+lite2-2x2": ("", [(L0, 1.0), (L2, 1.0)]),
    "lite0+lite2-2x2+colour 0.25": ("", [(L0, 1.0), (L2, 1.0), (COLOUR, 0.25)]),
    "lite0+lite2-2x2+colour 0.5": ("", [(L0, 1.0), (L2, 1.0), (COLOUR, 0.5)]),
    "lite0-2x2+colour 0.5": ("", [(L0, 1.0), (COLOUR, 0.5)]),
}


def features(ws: Workspace, option: tuple[str, list[tuple[str, float]] | None]) -> np.ndarray:
    """(N, D) float32 features of one option, rows in the workspace's feature order."""
    raw, parts = option
    if parts is None:
        return np.asarray(load_features(ws, raw).features, np.float32)
    sets = [load_features(ws, b) for b, _ in parts]
    for fs in sets[1:]:
        assert np.array_equal(fs.ids, sets[0].ids)
    return combine([np.asarray(fs.features) for fs in sets], [get_spec(b) for b, _ in parts], [w for _, w in parts])


def labels_of(ws: Workspace) -> np.ndarray:
    """(N,) object labels in feature-row order, None where unlabelled."""
    ids = np.asarray(load_features(ws, L0).ids).astype(str)
    lab = ws.items().set_index("item_id")["label"].fillna("").astype(str).reindex(ids).fillna("")
    return np.array([v or None for v in lab], dtype=object)


def scores(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    mask = np.array([v is not None for v in y])
    return nmi(y[mask].astype(str), pred[mask]), hungarian_accuracy(y[mask].astype(str), pred[mask])


def kmeans_labels(X: np.ndarray, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(X)


def loop_labels(X: np.ndarray, k: int, seed: int) -> np.ndarray:
    cfg = effective_config(ClusterConfig(k_init=k, k_max=k, random_state=seed), len(X), 0, X.shape[1])
    model = AdaptiveDeepCluster(**cfg.estimator_params()).fit(X)
    return model.labels_


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--catalog", action="append", required=True, metavar="NAME=WORKSPACE")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--options", nargs="*", default=list(OPTIONS), help="feature options (default: all)")
    p.add_argument("--loop-options", nargs="*", default=None,
                   help="options also clustered by the product's loop (default: all; [] for none)")
    p.add_argument("--skip-kmeans", action="store_true", help="the product's loop only (runs split over processes)")
    args = p.parse_args()
    loop_options = args.options if args.loop_options is None else args.loop_options
    print("| catalog | features | dim | k-means NMI | k-means ACC | product NMI | product ACC | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for spec in args.catalog:
        name, _, root = spec.partition("=")
        ws = Workspace(root, create=False)
        y = labels_of(ws)
        k = len({v for v in y if v is not None})
        for opt in args.options:
            t0 = time.perf_counter()
            X = features(ws, OPTIONS[opt])
            km = (np.array([scores(y, kmeans_labels(X, k, s)) for s in range(args.seeds)]).mean(0)
                  if not args.skip_kmeans else (np.nan, np.nan))
            loop = (np.array([scores(y, loop_labels(X, k, s)) for s in range(args.seeds)]).mean(0)
                    if opt in loop_options else (np.nan, np.nan))
            print(f"| {name} (N={len(X)}, k={k}) | {opt} | {X.shape[1]} | {km[0]:.4f} | {km[1]:.4f} | "
                  f"{loop[0]:.4f} | {loop[1]:.4f} | {time.perf_counter() - t0:.0f} |", flush=True)
    print("registered combined backbones:", ", ".join(n for n, s in REGISTRY.items() if s.is_combined))


if __name__ == "__main__":
    main()
