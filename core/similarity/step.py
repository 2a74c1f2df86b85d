"""Pipeline step: train the similarity head, choose the served space, index it, build directions.

Positives for the triplet loss are two views of the same image, items sharing a group key
(``GROUP_COLUMNS``) and, with ``label_positives`` (default), items sharing the catalog's
``label``. Held-out items (``validation_fraction``) are never trained on; the evaluation's
frozen-vs-tuned figures use them as queries.

Writes the artifact ``similarity/<run_id>``::

    head.pt            TripletEmbedder weights + hyperparameters (torch, weights_only)
    embeddings.npy     (N, d) float32 L2-normalised rows of the served space; row i = ids[i]:
                       the tuned embedding (d = out_dim) or, where it lost the held-out
                       comparison (``evaluation.json`` ``served``), the frozen features (d = D)
    ids.npy            (N,) item ids
    index/index.ann    annoy angular index over embeddings (item i = row i)
    index/ids.npy      the same ids
    index/index.json   sidecar: dim, metric, n_trees, search_k, seed, n_items, manifest_version,
                       recall_at_10 against exact search, tuning trials
    history.json       per epoch: loss, active_share, retrieval metrics on held-out items
    evaluation.json    frozen features vs tuned embedding, same queries, same run, and the
                       served space with its reason (core.similarity.served)
    directions.json    directions (name, source, provenance) ...
    directions.npy     ... and their (K, out_dim) unit vectors
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InvalidInputError
from core.progress import Progress
from core.similarity.artifact import artifact_name
from core.similarity.config import GROUP_COLUMNS, SERVE_CHOICES, SimilarityConfig
from core.similarity.directions import (
    Direction,
    ViewsOf,
    from_attribute,
    from_examples,
    hex_luminance,
    save_directions,
)
from core.similarity.estimator import TripletEmbedder
from core.similarity.index import build_measured
from core.similarity.retrieval import l2_normalise, present, retrieval_metrics
from core.similarity.served import choose_space, neighbour_agreement
from core.workspace import Workspace

__all__ = ["brighter_direction", "shipped_directions", "train_similarity"]


def _aligned_items(ws: Workspace, ids: np.ndarray) -> pd.DataFrame:
    """Catalog rows in the order of ``ids`` (missing items give NaN rows)."""
    items = ws.items()
    if "item_id" not in items.columns or items.empty:
        return pd.DataFrame({"item_id": ids})
    return items.drop_duplicates("item_id").set_index("item_id").reindex(ids).reset_index()


def _labels(items: pd.DataFrame) -> np.ndarray | None:
    if "label" not in items.columns:
        return None
    lab = items["label"].astype(object).where(items["label"].notna(), None).to_numpy()
    return lab if sum(present(x) for x in lab) > 10 else None


def _groups(items: pd.DataFrame, column: str | None) -> tuple[np.ndarray | None, str | None]:
    cols = [column] if column else [c for c in GROUP_COLUMNS if c in items.columns]
    for c in cols:
        if c not in items.columns:
            raise InvalidInputError(f"group column {c!r} is not in the catalog; columns: {', '.join(items.columns)}")
        g = items[c].astype(object).where(items[c].notna(), None).to_numpy()
        return g, c
    return None, None


def shipped_directions(path: str | Path, embeddings: np.ndarray, ids: np.ndarray,
                       views: ViewsOf | None = None) -> tuple[list[Direction], list[str]]:
    """Directions from a shipped example-sets file, for the examples present in the catalog
    (``views``: their augmented views in the same space, see ``from_examples``).

    Returns the directions and a note for each one skipped (too few of its items present).
    """
    p = Path(path)
    if not p.is_file():
        return [], [f"{p} not found"]
    spec = json.loads(p.read_text())
    in_catalog = set(np.asarray(ids).astype(str).tolist())
    out, notes = [], []
    for d in spec.get("directions", []):
        pos = [e["item_id"] for e in d["positive"] if e["item_id"] in in_catalog]
        neg = [e["item_id"] for e in d["negative"] if e["item_id"] in in_catalog]
        try:
            direction = from_examples(d["name"], embeddings, ids, pos, neg, origin=p.name, views=views)
        except InvalidInputError as exc:
            notes.append(f"{d['name']}: skipped ({exc})")
            continue
        direction.provenance.update({"description": d.get("description", ""),
                                     "shipped_positive": len(d["positive"]), "shipped_negative": len(d["negative"])})
        out.append(direction)
    return out, notes


def brighter_direction(embeddings: np.ndarray, colours: pd.Series, random_state: int = 0) -> Direction | None:
    """"brighter": brightest third against darkest third by dominant-colour luminance."""
    lum = hex_luminance(colours.tolist())
    ok = np.isfinite(lum)
    if ok.sum() < 30:
        return None
    lo, hi = np.quantile(lum[ok], [1 / 3, 2 / 3])
    keep = ok & ((lum <= lo) | (lum >= hi))
    return from_attribute("brighter", embeddings[keep], lum[keep] >= hi, method="logistic",
                          random_state=random_state,
                          details={"attribute": "dominant_colour luminance", "positive": "brightest third",
                                   "negative": "darkest third"})


def _query_sample(idx: np.ndarray, limit: int, random_state: int) -> np.ndarray:
    """``idx`` (n,) itself when n <= ``limit``, else a seeded sample of ``limit`` of it, sorted."""
    idx = np.asarray(idx, dtype=np.int64)
    if len(idx) <= limit:
        return idx
    return np.sort(np.random.default_rng(random_state).choice(idx, limit, replace=False))


def _evaluate(features: np.ndarray, views: np.ndarray | None, tuned: np.ndarray, tuned_views: np.ndarray | None,
              val_idx: np.ndarray, labels: np.ndarray | None, groups: np.ndarray | None,
              max_queries: int = SimilarityConfig.max_eval_queries, random_state: int = 0) -> dict[str, Any]:
    """Frozen vs tuned on the same held-out queries (and label precision over the labelled items),
    at most ``max_queries`` queries each (a seeded sample); the galleries are every item.

    ``views`` (N, V, D) may be memory-mapped: the metrics normalise the rows they search, so no
    normalised copy of it is made.
    """
    frozen = l2_normalise(features)
    queries = _query_sample(val_idx, max_queries, random_state)
    out: dict[str, Any] = {"n_items": int(len(features)), "n_validation": int(len(val_idx)),
                           "n_queries": int(len(queries))}
    out["frozen"] = retrieval_metrics(frozen, views, queries, labels, groups)
    out["tuned"] = retrieval_metrics(tuned, tuned_views, queries, labels, groups)
    out["served"] = choose_space(out["frozen"], out["tuned"], neighbour_agreement(tuned, frozen, queries))
    if labels is not None:
        all_idx = _query_sample(np.arange(len(features)), max_queries, random_state)
        out["frozen_all_queries"] = retrieval_metrics(frozen, None, all_idx, labels, None)
        out["tuned_all_queries"] = retrieval_metrics(tuned, None, all_idx, labels, None)
    out["note"] = ("frozen/tuned: queries are the held-out validation items (never trained on); partner "
                   "top-k: a view must find its own image (or a group partner); *_all_queries: label "
                   "precision@10 with every labelled item as a query (optimistic for the tuned embedding "
                   "when it was trained with label positives)")
    return out


def _next_version(ws: Workspace, name: str) -> int:
    """The version :meth:`Workspace.write_artifact` will give the next write of ``name``."""
    base = ws.root / name
    existing = [int(p.name[1:]) for p in base.glob("v*") if p.name[1:].isdigit()] if base.is_dir() else []
    return max([0, *existing, ws.version(name) or 0]) + 1


def train_similarity(
    ws: Workspace, config: SimilarityConfig | None = None, run_id: str = "default", progress: Progress = None
) -> dict[str, Any]:
    """Train the head on the cached features, index the tuned embeddings, build directions.

    Parameters
    ----------
    ws : workspace holding ``items`` and ``features/<backbone>`` (with views).
    config : SimilarityConfig (defaults if None).
    run_id : the artifact is ``similarity/<run_id>``.
    progress : called ``(epoch_done, epochs)``.

    Returns
    -------
    summary dict: version, evaluation, index sidecar, direction summaries, notes.
    """
    from core.embed.artifact import load_features

    cfg = config or SimilarityConfig()
    if cfg.serve not in SERVE_CHOICES:
        raise InvalidInputError(f"serve must be one of {', '.join(SERVE_CHOICES)}; got {cfg.serve!r}")
    fs = load_features(ws, cfg.backbone)
    ids = np.asarray(fs.ids).astype(str)
    features = np.asarray(fs.features, dtype=np.float32)
    views = None if fs.views is None else np.asarray(fs.views, dtype=np.float32)
    items = _aligned_items(ws, ids)
    labels = _labels(items)
    groups, group_col = _groups(items, cfg.group_column)

    est = TripletEmbedder.from_config(cfg).fit(features, views, groups, labels, progress=progress)
    tuned = est.transform(features)
    tuned_views = None if views is None else est.transform(views)
    evaluation = _evaluate(features, views, tuned, tuned_views, est.validation_idx_, labels, groups,
                           cfg.max_eval_queries, cfg.random_state)
    # the served space: the tuned embedding where it won the held-out comparison, else frozen
    if cfg.serve != "auto":
        evaluation["served"] = {**evaluation["served"], "space": cfg.serve,
                                "reason": f"the configuration asks for it (serve={cfg.serve})"}
    emb = tuned if evaluation["served"]["space"] == "tuned" else l2_normalise(features)
    evaluation["group_column"] = group_col
    evaluation["label_positives"] = bool(cfg.label_positives and labels is not None)

    name = artifact_name(run_id)
    version = _next_version(ws, name)
    index = build_measured(emb, ids, cfg.target_recall, cfg.random_state, version,
                           n_trees=cfg.n_trees, search_k=cfg.search_k)
    emb_views = None
    if cfg.direction_views and views is not None:
        emb_views = tuned_views if evaluation["served"]["space"] == "tuned" else l2_normalise(views)
    directions, notes = ([], []) if cfg.shipped_directions is None else shipped_directions(
        cfg.shipped_directions, emb, ids, None if emb_views is None else lambda rows: emb_views[rows])
    if "dominant_colour" in items.columns:
        bright = brighter_direction(emb, items["dominant_colour"], cfg.random_state)
        if bright is not None:
            directions.append(bright)
    parents = {f"features/{cfg.backbone}": fs.version}
    if ws.version("items") is not None:
        parents["items"] = int(ws.version("items") or 0)
    with ws.write_artifact(name, asdict(cfg), parents) as tmp:
        est.save(tmp / "head.pt")
        np.save(tmp / "embeddings.npy", emb)
        np.save(tmp / "ids.npy", ids)
        index.save(tmp / "index")
        index.unload()
        (tmp / "history.json").write_text(json.dumps(est.history_, indent=1))
        (tmp / "evaluation.json").write_text(json.dumps(evaluation, indent=1))
        save_directions(tmp, directions)
    written = ws.version(name)
    if written != version:  # another writer raced us; the sidecar would name the wrong version
        raise InvalidInputError(f"{name} was written concurrently (got v{written}, expected v{version}); rerun")
    return {"artifact": name, "version": version, "evaluation": evaluation,
            "index": {k: v for k, v in index.meta.items() if k != "tuning"},
            "directions": [d.summary() for d in directions], "notes": notes}
