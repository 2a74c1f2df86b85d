"""Labelled catalogs with every backbone the feature benchmark compares, built once and cached.

    nice -n 10 .venv/bin/python bench/feature_catalogs.py fashion-mnist --out /work/scratch/features --limit 2000
    nice -n 10 .venv/bin/python bench/feature_catalogs.py demo --out /work/scratch/features [--seed-from WS]
    nice -n 10 .venv/bin/python bench/feature_catalogs.py csv --catalog PATH.csv --name cc0 --out /work/scratch/features \\
        [--limit N] --seed-from /work/scratch/features/demo/ws

Each catalog becomes ``OUT/<name>/ws``: ingested through the product's own path, embedded with
lite0 (+ its 2×2 grid), lite2 (+ its 2×2 grid) and the colour histogram, no augmented views
(``--views`` to add them). ``--seed-from WS`` copies rows another workspace already holds for
the same items (same backbone, views, preprocessing and runtime) into this one's feature cache,
so a catalog that shares photos with another (the demo is a subset of the CC0 set) only runs the
new ones. ``csv``: a catalog CSV with an image column (``path``, or ``image`` naming
``images/<image>.jpg`` beside the CSV, as the CC0 set's) and a ``label`` column; the labels in
``--unlabelled`` are blanked (the CC0 set's "Not sure" and "Skip").
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import pipeline  # noqa: E402
from core.embed.artifact import artifact_name, load_features  # noqa: E402
from core.embed.cache import CachedFeatures, FeatureCache  # noqa: E402
from core.embed.spec import COLOUR_BACKBONE, get_spec, siblings  # noqa: E402
from core.embed.step import EmbedConfig  # noqa: E402
from core.workspace import Workspace  # noqa: E402

NETWORKS = ("efficientnet-lite0", "efficientnet-lite2")


def seed_cache(ws: Workspace, source: Workspace, cfg: EmbedConfig) -> int:
    """Append to ``ws``'s feature cache the rows of ``source``'s ``features/<cfg.backbone>`` (and
    its siblings') for items ``ws`` holds, when made with the same preprocessing and runtime and
    at least ``cfg.n_views`` views; returns the rows seeded."""
    n = 0
    want = set(ws.items()["item_id"].astype(str))
    for backbone in (cfg.backbone, *siblings(cfg.backbone)):
        one = replace(cfg, backbone=backbone)
        rec = source.record(artifact_name(backbone))
        if rec is None:
            continue
        used = rec["config"].get("runtime_used")
        if used != one.cache_key().runtime or rec["config"].get("view_seed") != one.view_seed:
            continue
        fs = load_features(source, backbone)
        have_views = 0 if fs.views is None else fs.views.shape[1]
        if have_views < one.n_views:
            continue
        rows = np.flatnonzero([str(i) in want for i in fs.ids])
        if not len(rows):
            continue
        feats = np.asarray(fs.features[rows], np.float32)[:, None]
        if one.n_views:
            feats = np.concatenate([feats, np.asarray(fs.views[rows, :one.n_views], np.float32)], axis=1)
        tk_i = None if fs.topk_idx is None else np.asarray(fs.topk_idx[rows])
        tk_p = None if fs.topk_prob is None else np.asarray(fs.topk_prob[rows])
        FeatureCache(ws.cache_dir, one.cache_key()).append(
            CachedFeatures(np.asarray(fs.ids[rows]).astype(str), feats, tk_i, tk_p))
        n += len(rows)
    return n


def embed_all(ws: Workspace, n_views: int, seed_from: list[Path], backbones: list[str]) -> None:
    """``backbones`` (lite0 and lite2 give their grid siblings too), seeded first."""
    for backbone in backbones:
        cfg = EmbedConfig(backbone=backbone, n_views=n_views if get_spec(backbone).takes_views else 0)
        for src in seed_from:
            seeded = seed_cache(ws, Workspace(src, create=False), cfg)
            print(f"{backbone}: {seeded} rows seeded from {src}", flush=True)
        rep = pipeline.embed(ws, backbone, config=cfg)
        print(f"{backbone}: {rep.computed} computed, {rep.cached} cached ({rep.runtime})", flush=True)


def csv_catalog(catalog: Path, out: Path, unlabelled: list[str], limit: int | None = None) -> Path:
    """A product catalog CSV (``path``, ``label``) written to ``out`` from ``catalog`` (a random
    ``limit`` of its rows, seed 0, when given)."""
    table = pd.read_csv(catalog, dtype=str, keep_default_na=False)
    if limit is not None and limit < len(table):
        table = table.sample(n=limit, random_state=0).sort_index()
    if "path" not in table.columns:
        if "image" not in table.columns:
            raise SystemExit(f"{catalog}: needs a 'path' or an 'image' column")
        table["path"] = [str(catalog.parent / "images" / f"{i}.jpg") for i in table["image"]]
    else:
        table["path"] = [p if Path(p).is_absolute() else str(catalog.parent / p) for p in table["path"]]
    table["label"] = table.get("label", "").where(~table.get("label", pd.Series("", index=table.index))
                                                  .isin(unlabelled), "")
    out.mkdir(parents=True, exist_ok=True)
    dest = out / "catalog.csv"
    table[["path", "label"]].to_csv(dest, index=False)
    return dest


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("which", choices=["fashion-mnist", "demo", "csv"])
    p.add_argument("--out", type=Path, default=Path("/work/scratch/features"))
    p.add_argument("--name", default=None, help="catalog folder name (default: which)")
    p.add_argument("--catalog", type=Path, default=None, help="csv: the catalog CSV")
    p.add_argument("--unlabelled", nargs="*", default=["Not sure", "Skip"])
    p.add_argument("--limit", type=int, default=None,
                   help="fashion-mnist: first N test images (default 2000); csv: N random rows (default all)")
    p.add_argument("--views", type=int, default=0)
    p.add_argument("--seed-from", type=Path, nargs="*", default=[])
    p.add_argument("--backbones", nargs="*", default=[*NETWORKS, COLOUR_BACKBONE])
    args = p.parse_args()
    root = args.out / (args.name or args.which)
    ws = Workspace(root / "ws")
    if args.which == "fashion-mnist":
        from core.fashion_mnist import write_png_folder

        source = write_png_folder(root / "png", limit=args.limit or 2000)
    elif args.which == "demo":
        source = pipeline.DEMO_CATALOG
    else:
        if args.catalog is None:
            p.error("csv needs --catalog PATH")
        source = csv_catalog(args.catalog, root, args.unlabelled, args.limit)
    rep = pipeline.ingest(ws, source, skip_missing=True)
    print(f"{root}: {len(ws.items())} items ({len(rep.skipped)} skipped)", flush=True)
    embed_all(ws, args.views, args.seed_from, args.backbones)


if __name__ == "__main__":
    main()
