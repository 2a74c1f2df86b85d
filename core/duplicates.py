"""Near-duplicate groups (the same piece photographed twice, crops, re-encodes) from features.

Cosine similarity on the frozen backbone features: every item's ``k`` nearest neighbours are
found once (:func:`neighbour_graph`, exact blocked numpy search), then a threshold keeps the
edges at or above it and union-find joins them into groups (:func:`groups_at`). Moving the
threshold re-runs only the union-find, so a slider stays cheap.

``DEFAULT_THRESHOLD`` is chosen by ``bench/bench_duplicates.py`` (precision and recall of the
groups on a set made from demo photos); the tests measure it, they do not tune it.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from core.errors import InvalidInputError
from core.workspace import Workspace

__all__ = ["DEFAULT_K", "DEFAULT_THRESHOLD", "MAX_THRESHOLD", "MIN_THRESHOLD", "NeighbourGraph", "VARIANTS",
           "duplicate_groups", "groups_at", "make_variants", "neighbour_graph", "pair_scores"]

DEFAULT_THRESHOLD = 0.88  # from bench/bench_duplicates.py (see bench/README.md)
MIN_THRESHOLD, MAX_THRESHOLD = 0.70, 0.999
DEFAULT_K = 10
_BLOCK = 1024


@dataclass(frozen=True)
class NeighbourGraph:
    """Each row's nearest neighbours. ids (N,) str; nbr (N, k) int64 row indices; sims (N, k)
    float32 cosine similarities, most similar first (self excluded)."""

    ids: np.ndarray
    nbr: np.ndarray
    sims: np.ndarray


def neighbour_graph(features: np.ndarray, ids: Sequence[str], k: int = DEFAULT_K) -> NeighbourGraph:
    """The ``k`` nearest rows of every row of ``features`` (N, D) by cosine, exact, in blocks."""
    X = np.asarray(features, dtype=np.float32)
    if X.ndim != 2 or len(X) != len(ids):
        raise InvalidInputError(f"features must be (N, D) with one row per id; got {X.shape} for {len(ids)} ids")
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    n = len(X)
    k = max(0, min(k, n - 1))
    nbr = np.zeros((n, k), np.int64)
    sims = np.zeros((n, k), np.float32)
    if k == 0:
        return NeighbourGraph(np.asarray(ids, dtype=str), nbr, sims)
    for s in range(0, n, _BLOCK):
        block = X[s:s + _BLOCK] @ X.T
        block[np.arange(len(block)), np.arange(s, s + len(block))] = -np.inf
        part = np.argpartition(-block, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(block, part, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        nbr[s:s + _BLOCK] = np.take_along_axis(part, order, axis=1)
        sims[s:s + _BLOCK] = np.take_along_axis(vals, order, axis=1)
    return NeighbourGraph(np.asarray(ids, dtype=str), nbr, sims)


def _find(parent: np.ndarray, i: int) -> int:
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        parent[i], i = root, parent[i]
    return root


def groups_at(graph: NeighbourGraph, threshold: float = DEFAULT_THRESHOLD,
              skip: Iterable[str] = ()) -> list[list[str]]:
    """Groups of two or more items joined by edges with cosine >= ``threshold`` (union-find).

    ``skip``: item ids left out (hidden ones). Groups come largest first, each in catalog order.
    """
    if not np.isfinite(threshold) or not MIN_THRESHOLD <= threshold <= MAX_THRESHOLD:
        raise InvalidInputError(f"threshold must be in [{MIN_THRESHOLD}, {MAX_THRESHOLD}]; got {threshold!r}")
    n = len(graph.ids)
    parent = np.arange(n)
    out_mask = np.isin(graph.ids, list(set(skip))) if skip else np.zeros(n, bool)
    rows, cols = np.nonzero(graph.sims >= threshold)
    for r, c in zip(rows.tolist(), graph.nbr[rows, cols].tolist(), strict=True):
        if out_mask[r] or out_mask[c]:
            continue
        a, b = _find(parent, r), _find(parent, c)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[int, list[int]] = {}
    for i in sorted(set(rows.tolist()) | set(graph.nbr[rows, cols].tolist())):
        if not out_mask[i]:
            members.setdefault(_find(parent, i), []).append(i)
    groups = [sorted(m) for m in members.values() if len(m) > 1]
    groups.sort(key=lambda m: (-len(m), m[0]))
    return [[str(graph.ids[i]) for i in m] for m in groups]


def pair_scores(predicted: Iterable[Iterable[str]], truth: dict[str, str]) -> dict[str, float]:
    """Pairwise precision and recall of predicted groups against true group keys.

    ``truth``: item id -> its true group (the original's key; distinct items have their own).
    A pair is predicted when both items share a predicted group, true when they share a key.
    Returns ``{"precision", "recall", "f1", "pred_pairs", "true_pairs"}`` (precision is 1 when
    nothing is predicted).
    """
    def pairs(groups: Iterable[list[str]]) -> set[tuple[str, str]]:
        return {(a, b) for g in groups for i, a in enumerate(g) for b in g[i + 1:]}

    pred = pairs(sorted(set(g)) for g in predicted)
    by_key: dict[str, list[str]] = {}
    for item, key in truth.items():
        by_key.setdefault(key, []).append(item)
    true = pairs(sorted(g) for g in by_key.values())
    hit = len(pred & true)
    precision = hit / len(pred) if pred else 1.0
    recall = hit / len(true) if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pred_pairs": float(len(pred)),
            "true_pairs": float(len(true))}


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _crop(image: Image.Image, share: float, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    cw, ch = max(1, int(w * share)), max(1, int(h * share))
    x = int(rng.integers(0, w - cw + 1))
    y = int(rng.integers(0, h - ch + 1))
    return image.crop((x, y, x + cw, y + ch))


VARIANTS = ("crop", "rescale", "jpeg", "flip")


def make_variants(image: Image.Image, kinds: Sequence[str] = VARIANTS, seed: int = 0) -> list[Image.Image]:
    """Near-duplicates of one photo, one per kind: ``crop`` (a random 85% window), ``rescale``
    (half size), ``jpeg`` (re-encoded at quality 30), ``flip`` (mirrored left-right)."""
    rng = np.random.default_rng(seed)
    rgb = image.convert("RGB")
    make = {
        "crop": lambda: _crop(rgb, 0.85, rng),
        "rescale": lambda: rgb.resize((max(1, rgb.width // 2), max(1, rgb.height // 2)), Image.Resampling.BILINEAR),
        "jpeg": lambda: _jpeg(rgb, 30),
        "flip": lambda: ImageOps.mirror(rgb),
    }
    unknown = [k for k in kinds if k not in make]
    if unknown:
        raise InvalidInputError(f"unknown variant kinds {unknown}; known: {', '.join(VARIANTS)}")
    return [make[k]() for k in kinds]


@functools.lru_cache(maxsize=2)
def _graph(root: str, backbone: str, version: int, k: int) -> NeighbourGraph:
    from core.embed.artifact import load_features

    fs = load_features(Workspace(root, create=False), backbone)
    return neighbour_graph(np.asarray(fs.features), np.asarray(fs.ids).astype(str).tolist(), k)


def workspace_graph(ws: Workspace, backbone: str | None = None, k: int = DEFAULT_K) -> NeighbourGraph:
    """The neighbour graph of the workspace's frozen features (cached per features version)."""
    from core.embed.spec import DEFAULT_BACKBONE

    b = backbone or DEFAULT_BACKBONE
    version = ws.version(f"features/{b}") or 0
    return _graph(str(Path(ws.root).resolve()), b, version, k)


def duplicate_groups(ws: Workspace, threshold: float = DEFAULT_THRESHOLD, backbone: str | None = None,
                     skip: Iterable[str] = ()) -> list[list[str]]:
    """Near-duplicate groups of the workspace's catalog at ``threshold`` (``skip``: hidden ids).

    Raises MissingArtifactError naming the embed command when the features are missing.
    """
    return groups_at(workspace_graph(ws, backbone), threshold, skip)


@dataclass(frozen=True)
class GeneratedSet:
    """A duplicate test set: images (n,) PIL, ids (n,) str, truth id -> group key (an original
    and its variants share its key; a distinct item has its own)."""

    images: list[Image.Image]
    ids: list[str]
    truth: dict[str, str]


def make_test_set(originals: Sequence[Image.Image], distinct: Sequence[Image.Image],
                  kinds: Sequence[str] = VARIANTS, seed: int = 0) -> GeneratedSet:
    """Every original with one variant of each kind (:func:`make_variants`), mixed with the
    ``distinct`` photos (pieces that are not copies of one another)."""
    images: list[Image.Image] = []
    ids: list[str] = []
    truth: dict[str, str] = {}
    for n, image in enumerate(originals):
        key = f"o{n}"
        for j, im in enumerate([image.convert("RGB"), *make_variants(image, kinds, seed + n)]):
            ids.append(f"{key}-{j}")
            images.append(im)
            truth[ids[-1]] = key
    for n, image in enumerate(distinct):
        ids.append(f"d{n}")
        images.append(image.convert("RGB"))
        truth[ids[-1]] = ids[-1]
    return GeneratedSet(images, ids, truth)
