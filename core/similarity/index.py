"""Approximate nearest-neighbour index over annoy (angular metric) with a JSON sidecar.

Annoy item ``i`` is row ``i`` of the embedding matrix it was built from; the item ids travel
with it in ``ids.npy``. The sidecar ``index.json`` records how the index was built and the
recall@10 measured against exact search, and is checked when the index is loaded. Loading
memory-maps the annoy file (``prefault=False``) so several processes share one copy.

Annoy's angular distance is ``d = sqrt(2 - 2 cos)``, so ``cos = 1 - d**2 / 2``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from annoy import AnnoyIndex

from core.errors import InvalidInputError, MissingArtifactError
from core.similarity.config import SimilarityConfig
from core.similarity.retrieval import exact_topk, l2_normalise

__all__ = ["AnnIndex", "IndexParams", "build_measured", "choose_params", "measure_recall"]

METRIC: Literal["angular"] = "angular"
INDEX_FILE = "index.ann"
IDS_FILE = "ids.npy"
SIDECAR_FILE = "index.json"


@dataclass(frozen=True)
class IndexParams:
    """Build / search settings chosen by :func:`choose_params`, with the recall they gave."""

    n_trees: int
    search_k: int
    recall_at_10: float
    query_ms: float


class AnnIndex:
    """Annoy angular index plus the item ids of its rows.

    Build with :meth:`build`, or read a saved one with :meth:`load`.
    """

    def __init__(self, annoy: AnnoyIndex, ids: np.ndarray, meta: dict[str, Any]) -> None:
        self._annoy = annoy
        self.ids = ids
        self.meta = meta

    # -- build -------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        embeddings: np.ndarray,
        ids: Sequence[str] | np.ndarray,
        n_trees: int = 50,
        search_k: int = -1,
        seed: int = 0,
        manifest_version: int | None = None,
        n_jobs: int = 1,
    ) -> AnnIndex:
        """Build an in-memory index.

        Parameters
        ----------
        embeddings : (N, d) float vectors (need not be normalised: angular ignores length).
        ids : (N,) item ids; row i of ``embeddings`` is item ``ids[i]``.
        n_trees : number of random-projection trees.
        search_k : nodes inspected per query (-1: annoy's default, ``n_trees * k``).
        seed : annoy's random seed.
        manifest_version : version of the workspace artifact this index belongs to.
        n_jobs : build threads.
        """
        X = np.asarray(embeddings, dtype=np.float32)
        ids = np.asarray(ids).astype(str)
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
            raise InvalidInputError(f"embeddings must be a non-empty (N, d) matrix; got shape {X.shape}")
        if len(ids) != X.shape[0]:
            raise InvalidInputError(f"{len(ids)} ids for {X.shape[0]} embedding rows")
        if not np.isfinite(X).all():
            raise InvalidInputError("embeddings contain NaN or infinite values")
        if n_trees < 1:
            raise InvalidInputError(f"n_trees must be >= 1; got {n_trees}")
        index = AnnoyIndex(X.shape[1], METRIC)
        index.set_seed(int(seed))
        for i, row in enumerate(X):
            index.add_item(i, row.tolist())
        t0 = time.perf_counter()
        index.build(int(n_trees), n_jobs=int(n_jobs))
        meta = {
            "dim": int(X.shape[1]), "metric": METRIC, "n_trees": int(n_trees), "search_k": int(search_k),
            "seed": int(seed), "n_items": int(X.shape[0]), "manifest_version": manifest_version,
            "build_seconds": round(time.perf_counter() - t0, 4), "recall_at_10": None,
        }
        return cls(index, ids, meta)

    # -- query -------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self.meta["dim"])

    def __len__(self) -> int:
        return int(self.meta["n_items"])

    def query_rows(self, vector: np.ndarray, k: int, search_k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Nearest rows: (k,) int64 row indices and (k,) float32 cosine similarities, best first."""
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        if v.shape[0] != self.dim:
            raise InvalidInputError(f"query has dimension {v.shape[0]}; the index has {self.dim}")
        if not np.isfinite(v).all() or not np.any(v):
            raise InvalidInputError("query vector is zero or not finite")
        if k < 1:
            raise InvalidInputError(f"k must be >= 1; got {k}")
        sk = self.meta["search_k"] if search_k is None else search_k
        rows, dist = self._annoy.get_nns_by_vector(v.tolist(), int(k), search_k=int(sk), include_distances=True)
        d = np.asarray(dist, dtype=np.float32)
        return np.asarray(rows, dtype=np.int64), (1.0 - d * d / 2.0).astype(np.float32)

    def query(self, vector: np.ndarray, k: int = 10, search_k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Nearest items.

        Parameters
        ----------
        vector : (d,) query vector.
        k : number of neighbours.
        search_k : override of the sidecar's search_k.

        Returns
        -------
        ids : (k,) item ids, most similar first.
        scores : (k,) float32 cosine similarities.
        """
        rows, sims = self.query_rows(vector, k, search_k)
        return self.ids[rows], sims

    # -- persistence -------------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        """Write ``index.ann``, ``ids.npy`` and the ``index.json`` sidecar into ``directory``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / (INDEX_FILE + ".tmp")
        self._annoy.save(str(tmp))
        # annoy's save() re-maps the index from the file it wrote; keep that file in place.
        os.replace(tmp, d / INDEX_FILE)
        self._annoy.unload()
        self._annoy = AnnoyIndex(self.dim, METRIC)
        self._annoy.load(str(d / INDEX_FILE), prefault=False)
        np.save(d / IDS_FILE, self.ids)
        (d / SIDECAR_FILE).write_text(json.dumps(self.meta, indent=2))

    @classmethod
    def load(
        cls,
        directory: str | Path,
        expected_dim: int | None = None,
        expected_version: int | None = None,
        expected_metric: str = METRIC,
    ) -> AnnIndex:
        """Memory-map a saved index after checking its sidecar.

        Parameters
        ----------
        directory : folder written by :meth:`save`.
        expected_dim : dimension of the embeddings it must belong to (None: not checked).
        expected_version : manifest version it must belong to (None: not checked).
        expected_metric : metric it must use.

        Raises
        ------
        MissingArtifactError if files are absent; InvalidInputError if the sidecar disagrees.
        """
        d = Path(directory)
        for f in (INDEX_FILE, IDS_FILE, SIDECAR_FILE):
            if not (d / f).is_file():
                raise MissingArtifactError(
                    f"no annoy index at {d} ({f} missing); build it with `python -m core similarity --workspace WS`")
        meta = json.loads((d / SIDECAR_FILE).read_text())
        problems = []
        if meta.get("metric") != expected_metric:
            problems.append(f"metric {meta.get('metric')!r} != {expected_metric!r}")
        if expected_dim is not None and meta.get("dim") != expected_dim:
            problems.append(f"dim {meta.get('dim')} != embeddings dim {expected_dim}")
        if expected_version is not None and meta.get("manifest_version") != expected_version:
            problems.append(f"manifest version {meta.get('manifest_version')} != {expected_version}")
        ids = np.load(d / IDS_FILE, allow_pickle=False)
        if meta.get("n_items") != len(ids):
            problems.append(f"item count {meta.get('n_items')} != {len(ids)} ids")
        if not problems:
            annoy = AnnoyIndex(int(meta["dim"]), METRIC)
            annoy.load(str(d / INDEX_FILE), prefault=False)
            if annoy.get_n_items() != len(ids):
                problems.append(f"annoy file holds {annoy.get_n_items()} items, sidecar says {len(ids)}")
            elif annoy.f != int(meta["dim"]):
                problems.append(f"annoy file dim {annoy.f} != sidecar dim {meta['dim']}")
        if problems:
            raise InvalidInputError(
                f"index at {d} does not match its embeddings: {'; '.join(problems)}; "
                "rebuild it with `python -m core similarity --workspace WS`")
        return cls(annoy, ids, meta)

    def unload(self) -> None:
        """Release the memory map."""
        self._annoy.unload()


# -- measurement -----------------------------------------------------------------------------
def measure_recall(
    index: AnnIndex, base: np.ndarray, queries: np.ndarray, k: int = 10, search_k: int | None = None
) -> tuple[float, float]:
    """Recall@k of the index against exact numpy search, and mean ms per query.

    Parameters
    ----------
    index : built over ``base`` (row i = annoy item i).
    base : (N, d) the vectors the index was built from.
    queries : (n, d) query vectors.

    Returns
    -------
    recall : mean share of the exact top-k that the index returned.
    query_ms : mean milliseconds per annoy query.
    """
    per_query, ms = _recall_per_query(index, base, queries, k, search_k)
    return float(per_query.mean()), ms


def _recall_per_query(
    index: AnnIndex, base: np.ndarray, queries: np.ndarray, k: int, search_k: int | None
) -> tuple[np.ndarray, float]:
    """(n,) recall@k of each query, and mean ms per annoy query."""
    truth = exact_topk(l2_normalise(base), l2_normalise(queries), k)
    t0 = time.perf_counter()
    found = [index.query_rows(q, k, search_k)[0] for q in queries]
    ms = (time.perf_counter() - t0) * 1000 / max(len(queries), 1)
    rec = [len(set(f.tolist()) & set(t.tolist())) / truth.shape[1] for f, t in zip(found, truth, strict=True)]
    return np.asarray(rec), ms


def choose_params(
    embeddings: np.ndarray,
    target_recall: float = SimilarityConfig.target_recall,
    n_queries: int = 300,
    trees: Sequence[int] = (10, 25, 50, 100),
    search_ks: Sequence[int] = (100, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000, 7000, 10000,
                                15000, 20000, 30000, 50000),
    seed: int = 0,
    n_jobs: int = 1,
) -> tuple[IndexParams, list[dict[str, Any]]]:
    """Choose n_trees and search_k by measurement on a held-out query sample.

    ``n_queries`` rows are held out as queries; candidate indexes are built on the other rows
    and their recall@10 against exact search measured for increasing ``search_k``. A setting
    qualifies when the lower bound of its recall (mean - 2 standard errors over the queries)
    reaches ``target_recall``; the fastest qualifying setting wins (else the best recall).

    Parameters
    ----------
    embeddings : (N, d) vectors.

    Returns
    -------
    params : IndexParams of the chosen setting (recall and ms measured on the held-out queries).
    trials : every measured setting, as dicts.
    """
    X = np.asarray(embeddings, dtype=np.float32)
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    n_q = min(n_queries, max(1, n // 5))
    perm = rng.permutation(n)
    q_rows, base_rows = perm[:n_q], perm[n_q:]
    base, queries = X[base_rows], X[q_rows]
    trials: list[dict[str, Any]] = []
    for t in trees:
        idx = AnnIndex.build(base, np.arange(len(base)).astype(str), n_trees=t, seed=seed, n_jobs=n_jobs)
        for sk in search_ks:
            if sk < t * 10 and sk != search_ks[-1]:
                continue  # below annoy's own default for k=10: never better
            per_query, ms = _recall_per_query(idx, base, queries, 10, sk)
            recall = float(per_query.mean())
            low = recall - 2 * float(per_query.std()) / np.sqrt(len(per_query))
            trials.append({"n_trees": t, "search_k": sk, "recall_at_10": recall,
                           "recall_low": low, "query_ms": ms})
            if low >= target_recall or sk >= len(base) * t:
                break
        idx.unload()
    ok = [r for r in trials if r["recall_low"] >= target_recall]
    best = min(ok, key=lambda r: r["query_ms"]) if ok else max(trials, key=lambda r: r["recall_at_10"])
    return IndexParams(best["n_trees"], best["search_k"], best["recall_at_10"], best["query_ms"]), trials


def build_measured(
    embeddings: np.ndarray,
    ids: Sequence[str] | np.ndarray,
    target_recall: float = SimilarityConfig.target_recall,
    seed: int = 0,
    manifest_version: int | None = None,
    n_queries: int = 300,
    n_trees: int | None = None,
    search_k: int | None = None,
    n_jobs: int = 1,
) -> AnnIndex:
    """Build an index with measured settings and record its recall@10 in the sidecar.

    ``n_trees`` / ``search_k`` are chosen by :func:`choose_params` unless both are given. The
    built index's recall@10 is then measured against exact search over all rows with a random
    sample of ``n_queries`` rows as queries, and stored in ``meta["recall_at_10"]`` (with the
    tuning trials in ``meta["tuning"]``).

    Parameters
    ----------
    embeddings : (N, d) vectors.
    ids : (N,) item ids.
    """
    X = np.asarray(embeddings, dtype=np.float32)
    trials: list[dict[str, Any]] = []
    if n_trees is None or search_k is None:
        params, trials = choose_params(X, target_recall, n_queries, seed=seed, n_jobs=n_jobs)
        n_trees, search_k = params.n_trees, params.search_k
    index = AnnIndex.build(X, ids, n_trees, search_k, seed, manifest_version, n_jobs)
    rng = np.random.default_rng(seed + 1)
    q = X[rng.choice(X.shape[0], size=min(n_queries, X.shape[0]), replace=False)]
    recall, ms = measure_recall(index, X, q, 10)
    index.meta.update({"recall_at_10": round(recall, 4), "query_ms": round(ms, 4),
                       "target_recall": target_recall, "tuning": trials})
    return index
