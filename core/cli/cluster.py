"""Clustering commands: ``cluster``, ``assign``, ``evaluate``, ``clusterings``."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.cli.common import add_json, add_quiet, add_workspace, open_workspace, print_json, progress_bar
from core.cli.options import Option, add_config_options, config_from_args
from core.cluster import ClusterConfig, assign_image, cluster_workspace, list_clusterings, require_clustering
from core.embed.spec import REGISTRY, get_spec
from core.embed.step import EmbedConfig
from core.errors import InvalidInputError, MissingArtifactError
from core.workspace import Workspace

# Where `evaluate` departs from the pipeline's defaults, on purpose: fixed k = number of classes
# (the standard protocol; see EVALUATE_K_OPTIONS), equal-size pseudo-labels (benchmark classes
# are balanced), no UMAP start, a shorter schedule, and no augmented views of the benchmark
# images (see bench/README.md for what was tried and how these were chosen).
EVALUATE_OVERRIDES: dict[type, dict[str, Any]] = {
    ClusterConfig: {"equipartition": True, "init_umap": None, "n_epochs": 20, "min_epochs": 8},
    EmbedConfig: {"n_views": 0},
}
EVAL_CONFIG = replace(ClusterConfig(), **EVALUATE_OVERRIDES[ClusterConfig])
EVAL_EMBED_CONFIG = replace(EmbedConfig(), **EVALUATE_OVERRIDES[EmbedConfig])

# ClusterConfig fields set by `cluster` and `evaluate` (defaults read from the config).
CLUSTER_OPTIONS: dict[str, Option | str] = {
    "backbone": Option("--backbone", f"features to cluster: {', '.join(REGISTRY)}"),
    "k_init": Option("--k-init", "starting number of clusters", unset=True),
    "k_max": Option("--k-max", "largest number of clusters; when not given, at least --k-init", unset=True),
    "n_epochs": Option("--epochs", "most training epochs"),
    "lr": Option("--lr", "Adam learning rate"),
    "pca_dim": Option("--pca-dim", "PCA-whiten the features to this many dimensions first"),
    "neighbor_weight": Option("--neighbor-weight", "weight of the neighbour-consistency term"),
    "init_umap": Option("--init-umap", "first pseudo-labels from k-means on a UMAP of DIMS dimensions; 0: off",
                        metavar="DIMS", off=0),
    "stop_stability": Option("--stop-stability", "stop once label stability reaches this"),
    "min_confidence": Option("--min-confidence", "novelty: confidence below this is novel"),
    "n_sigma": Option("--n-sigma", "novelty: distance above mean + n_sigma * std is novel"),
    "novelty_buffer": Option("--novelty-buffer", "novel samples needed before k grows"),
    "k_select": Option("--k-select", "what backs a growth of k: the held-out split test, or the older seed guard"),
    "split_alpha": Option("--split-alpha", "level of the split test (a split passes above the null's 1 - alpha "
                                           "quantile)"),
    "equipartition": Option("--equipartition", "balanced (equal-size) pseudo-labels; for catalogs whose "
                                               "categories are of similar size"),
    "use_views": Option("--no-views", "train on the original features only"),
    "random_state": "--seed",
}
EVALUATE_K_OPTIONS: dict[str, Option | str] = {
    "k_init": Option("--k-init", "starting number of clusters (default: the number of classes; with --k auto, "
                                 "the pipeline's)", unset=True),
    "k_max": Option("--k-max", "largest number of clusters (default: the number of classes; with --k auto, "
                               "the pipeline's)", unset=True),
}


def parse_k(text: str) -> str | int:
    """``--k`` of ``evaluate``: "auto" (k chosen by the method) or a number of clusters >= 2."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k must be 'auto' or a number of clusters, got {text!r}") from None
    if k < 2:
        raise argparse.ArgumentTypeError(f"--k must be at least 2, got {k}")
    return k
EVALUATE_OPTIONS = {**CLUSTER_OPTIONS, **EVALUATE_K_OPTIONS}
EVALUATE_EMBED_OPTIONS: dict[str, Option | str] = {
    "n_views": Option("--views", "fashion-mnist: augmented views per image"),
}


def _config(args: argparse.Namespace, base: ClusterConfig, k_default: int | None = None) -> ClusterConfig:
    """The config of ``cluster`` (``k_default`` None) or ``evaluate`` (k = number of classes)."""
    cfg = config_from_args(ClusterConfig, args, CLUSTER_OPTIONS, base=base)
    k_init = args.k_init if args.k_init is not None else (k_default or base.k_init)
    k_max = args.k_max if args.k_max is not None else (k_default or max(base.k_max, k_init))
    return replace(cfg, k_init=k_init, k_max=k_max)


def _evaluate_config(args: argparse.Namespace, n_classes: int) -> ClusterConfig:
    """``evaluate``'s config: k fixed at ``--k`` (default the number of classes), or, with
    ``--k auto``, chosen by the method from the pipeline's k_init / k_max."""
    if args.k == "auto":
        return _config(args, EVAL_CONFIG)
    return _config(args, EVAL_CONFIG, k_default=args.k or n_classes)


def register(sub: Any) -> None:
    p = sub.add_parser("cluster", help="discover categories (adaptive DeepCluster)",
                       description="Cluster the workspace's features with the adaptive DeepCluster loop and save "
                                   "the result as clusters/<id>. --json prints the final epoch's record and the "
                                   "cluster list.")
    add_workspace(p)
    p.add_argument("--id", default="default", dest="run_id", help="name of this clustering (default %(default)s)")
    add_config_options(p, ClusterConfig, CLUSTER_OPTIONS)
    add_json(p)
    add_quiet(p)
    p.set_defaults(handler=cmd_cluster)

    p = sub.add_parser("assign", help="place a new image in a clustering",
                       description="Embed an image and print its nearest cluster, name and confidence, or "
                                   "'outlier' when it fails the novelty test.")
    add_workspace(p)
    p.add_argument("--image", required=True, type=Path, help="image file")
    p.add_argument("--id", default="default", dest="run_id", help="clustering to use (default %(default)s)")
    add_json(p)
    p.set_defaults(handler=cmd_assign)

    p = sub.add_parser("clusterings", help="list saved clusterings", description="List the saved clusterings.")
    add_workspace(p)
    add_json(p)
    p.set_defaults(handler=cmd_clusterings)

    p = sub.add_parser("evaluate", help="score clustering against labels (e.g. Fashion-MNIST)",
                       description="Unsupervised clustering scored against labels. 'fashion-mnist' ingests the "
                                   "Fashion-MNIST test set (Debian package dataset-fashion-mnist) into a temporary "
                                   "workspace, embeds and clusters it; --workspace WS scores a labelled workspace. "
                                   "Labels are used only for scoring. k defaults to the number of classes.")
    p.add_argument("dataset", nargs="?", choices=["fashion-mnist"], help="built-in dataset")
    p.add_argument("--workspace", "-w", type=Path, default=None, metavar="WS", help="a labelled workspace instead")
    p.add_argument("--limit", type=int, default=None, help="fashion-mnist: only the first N test images")
    add_config_options(p, EmbedConfig, EVALUATE_EMBED_OPTIONS, base=EVAL_EMBED_CONFIG)
    p.add_argument("--keep", type=Path, default=None, metavar="DIR",
                   help="fashion-mnist: build the workspace in DIR and keep it (default: a temporary folder)")
    p.add_argument("--id", default="evaluate", dest="run_id", help="clustering id to write (default %(default)s)")
    p.add_argument("--k", type=parse_k, default=None, metavar="K|auto",
                   help="fixed number of clusters, or 'auto': k chosen by the method as `cluster` does, from the "
                        "pipeline's k_init / k_max (default: the number of classes)")
    add_config_options(p, ClusterConfig, EVALUATE_OPTIONS, base=EVAL_CONFIG)
    add_json(p)
    add_quiet(p)
    p.set_defaults(handler=cmd_evaluate)


def cmd_cluster(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    cfg = _config(args, ClusterConfig())
    res = cluster_workspace(ws, cfg, run_id=args.run_id,
                            progress=progress_bar(f"cluster {args.run_id}", enabled=not (args.quiet or args.json)))
    out = {"run_id": res.run_id, "version": res.version, "k": res.k, "final": res.final(),
           "clusters": res.cluster_table(), "scores": res.summary.get("scores"),
           "baseline": res.summary.get("baseline"), "k_selection": res.summary.get("k_selection"),
           "tree": res.tree}
    if args.json:
        print_json(out)
        return 0
    f = res.final()
    print(f"clusters/{res.run_id} v{res.version}: k={res.k}, {res.summary['epochs']} epochs "
          f"({res.summary['stopped']}), stability {f.get('stability')}, mean confidence {f.get('mean_confidence')}")
    for c in res.cluster_table():
        print(f"  {c['cluster']:>3}  {c['size']:>6}  {c['name']}")
    scores, base = res.summary.get("scores"), res.summary.get("baseline")
    if scores:
        line = f"against catalog labels: acc {scores['acc']:.3f}  nmi {scores['nmi']:.3f}  ari {scores['ari']:.3f}"
        if base and "nmi" in base:
            line += f"  (plain k-means, k={base['k']}: nmi {base['nmi']:.3f}"
            pooled = base.get("pooled") or {}
            line += f"; on pooled features {pooled['nmi']:.3f})" if "nmi" in pooled else ")"
        print(line)
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    from core.images import decode_image

    ws = open_workspace(args)
    require_clustering(ws, args.run_id)
    if not args.image.is_file():
        raise InvalidInputError(f"image {args.image} does not exist")
    image = decode_image(args.image.read_bytes())
    a = assign_image(ws, image, run_id=args.run_id)
    if args.json:
        print_json(a.to_dict())
    elif a.outlier:
        print(f"outlier (confidence {a.confidence:.2f})")
    else:
        print(f"cluster {a.cluster}: {a.name} (confidence {a.confidence:.2f})")
    return 0


def cmd_clusterings(args: argparse.Namespace) -> int:
    ws = open_workspace(args)
    runs = list_clusterings(ws)
    if args.json:
        print_json({"clusterings": runs})
        return 0
    if not runs:
        print(f"no clusterings yet; make one with `python -m core cluster --workspace {ws.root}`")
    for r in runs:
        print(f"{r['run_id']}  v{r['version']}  k={r['k']}  {r['n_items']} items  {r['backbone']}  {r['created']}")
    return 0


def evaluate_workspace(ws: Workspace, cfg: ClusterConfig, run_id: str, quiet: bool = True) -> dict[str, Any]:
    """Cluster a labelled workspace and return its scores (acc, nmi, ari, purity, f1, baseline)."""
    res = cluster_workspace(ws, cfg, run_id=run_id, progress=progress_bar(f"cluster {run_id}", enabled=not quiet))
    scores = res.summary.get("scores")
    if not scores:
        raise InvalidInputError(f"workspace {ws.root} has no labelled items to evaluate against")
    return {**scores, "k": res.k, "k_selection": res.summary.get("k_selection"), "epochs": res.summary["epochs"],
            "cluster_seconds": res.summary["seconds"],
            "baseline": res.summary.get("baseline"), "n_items": res.summary["n_items"]}


def cmd_evaluate(args: argparse.Namespace) -> int:
    from core import pipeline

    if (args.dataset is None) == (args.workspace is None):
        raise InvalidInputError("give either a dataset (fashion-mnist) or --workspace WS")
    t0 = time.perf_counter()
    quiet = args.quiet or args.json
    tmp_root: Path | None = None
    if args.workspace is not None:
        ws = Workspace.open(args.workspace)
        source = str(ws.root)
    else:
        from core.fashion_mnist import write_png_folder

        if args.keep is not None:
            root = args.keep
        else:
            tmp_root = Path(tempfile.mkdtemp(prefix="style-atlas-eval-"))
            root = tmp_root
        source = "fashion-mnist test set"
        csv_path = write_png_folder(root / "source", split="test", limit=args.limit)
        ws = Workspace(root / "workspace")
        pipeline.ingest(ws, csv_path, progress=progress_bar("ingest", enabled=not quiet))
        # the grid backbone comes with the pooled one from the same pass: both baselines for free
        main = get_spec(args.backbone).model_name
        embed_cfg = config_from_args(EmbedConfig, args, EVALUATE_EMBED_OPTIONS, base=EVAL_EMBED_CONFIG)
        pipeline.embed(ws, main, config=embed_cfg,
                       progress=progress_bar(f"embed {main}", enabled=not quiet))
    try:
        items = ws.items()
        if items.empty or "label" not in items.columns or items["label"].isna().all():
            raise InvalidInputError(f"workspace {ws.root} has no labelled items to evaluate against")
        n_classes = int(items["label"].dropna().astype(str).replace("", None).dropna().nunique())
        cfg = _evaluate_config(args, n_classes)
        if args.workspace is not None and not ws.has(f"features/{cfg.backbone}"):
            raise MissingArtifactError(
                f"no features for backbone {cfg.backbone!r} in {ws.root}; compute them with "
                f"`python -m core embed --workspace {ws.root} --backbone {cfg.backbone}`"
            )
        out = evaluate_workspace(ws, cfg, args.run_id, quiet=quiet)
    finally:
        if tmp_root is not None:
            shutil.rmtree(tmp_root, ignore_errors=True)
    out = {"source": source, **out, "n_classes": n_classes, "seconds": round(time.perf_counter() - t0, 1)}
    if args.json:
        print_json(out)
        return 0
    print(f"{source}: {out['n_items']} items, k={out['k']}")
    print(f"  acc {out['acc']:.4f}  nmi {out['nmi']:.4f}  ari {out['ari']:.4f}  purity {out['purity']:.4f}")
    base = out.get("baseline") or {}
    if "nmi" in base:
        print(f"  plain k-means on the same features: acc {base['acc']:.4f}  nmi {base['nmi']:.4f}")
    pooled = base.get("pooled") or {}
    if "nmi" in pooled:
        print(f"  plain k-means on pooled {pooled['features']}: acc {pooled['acc']:.4f}  nmi {pooled['nmi']:.4f}")
    print("  per-class F1: " + ", ".join(f"{c} {v:.2f}" for c, v in sorted(out["f1"].items())))
    print(f"  {out['seconds']} s")
    sys.stdout.flush()
    return 0
