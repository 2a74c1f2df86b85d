"""Combined features: several backbones' features side by side, each block normalised on its own.

A combined spec (``BackboneSpec.parts``: ``((backbone, weight), ...)``) names the artifacts it
is made of. Each item's block of part ``b`` is L2-normalised (a histogram's square root first:
the Hellinger embedding, in which Euclidean distance compares distributions) and scaled by
``sqrt(weight_b)``, so a block's share of a squared distance is its weight, whatever its
dimension or raw scale: a 512-bin colour histogram counts as much as a 5120-d grid at weight 1.
The normalisation is per item, so nothing is fitted and a query is combined the same way.

The ``features/<combined>`` artifact is written from the parts' artifacts (in row blocks,
memory-mapped) by :func:`write_combined`; it then loads like any other features artifact.
Views: parts with fewer augmented views than the others contribute their original's block
to the missing views (a colour histogram barely changes under a flip or a crop).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.embed.artifact import FeatureSet, artifact_name, load_features
from core.embed.spec import BackboneSpec, get_spec
from core.errors import InvalidInputError, MissingArtifactError
from core.workspace import Workspace, build_command

ROW_BLOCK = 4096  # items combined at a time while writing


def part_specs(spec: BackboneSpec) -> list[tuple[BackboneSpec, float]]:
    """The parts of combined ``spec`` as (spec, weight); InvalidInputError when it has none."""
    if not spec.parts:
        raise InvalidInputError(f"{spec.name} is not a combined backbone")
    return [(get_spec(name), float(w)) for name, w in spec.parts]


def normalise_block(x: np.ndarray, spec: BackboneSpec, weight: float = 1.0) -> np.ndarray:
    """One part's block, per row: (..., D) → (..., D) float32 of L2 norm ``sqrt(weight)``
    (the square root of a histogram first; a zero row stays zero)."""
    x = np.asarray(x, dtype=np.float32)
    if spec.histogram:
        x = np.sqrt(np.maximum(x, 0.0))
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norm, 1e-12) * np.float32(np.sqrt(weight))).astype(np.float32)


def combine(blocks: Sequence[np.ndarray], specs: Sequence[BackboneSpec], weights: Sequence[float]) -> np.ndarray:
    """Raw part features ``blocks`` ((..., D_b) each, same leading shape) → (..., sum D_b) float32."""
    if not (len(blocks) == len(specs) == len(weights)) or not blocks:
        raise InvalidInputError("combine needs one spec and one weight per block")
    for x, s in zip(blocks, specs):
        if np.shape(x)[-1] != s.dim:
            raise InvalidInputError(f"a {s.name} block must have {s.dim} columns; got {np.shape(x)[-1]}")
    return np.concatenate([normalise_block(x, s, w) for x, s, w in zip(blocks, specs, weights)], axis=-1)


def _parts(ws: Workspace, spec: BackboneSpec) -> list[tuple[FeatureSet, BackboneSpec, float]]:
    """The parts' feature sets (same items, same order), their specs and weights."""
    out = []
    for part, weight in part_specs(spec):
        if not ws.has(artifact_name(part.name)):
            raise MissingArtifactError(f"{spec.name} is made of {part.name}, which {ws.root} lacks; compute it with "
                                       f"`{build_command(artifact_name(spec.name), ws.root)}`")
        out.append((load_features(ws, part.name), part, weight))
    ids = out[0][0].ids
    for fs, part, _ in out[1:]:
        if not np.array_equal(fs.ids, ids):
            raise MissingArtifactError(f"{part.name} and {out[0][1].name} hold different items in {ws.root}; "
                                       "re-run embed so that every part covers the catalog")
    return out


def parents_of(ws: Workspace, spec: BackboneSpec) -> dict[str, int]:
    """The part artifacts' current versions (what a combined artifact is made from)."""
    return {artifact_name(name): int(ws.version(artifact_name(name)) or 0) for name, _ in spec.parts}


def up_to_date(ws: Workspace, spec: BackboneSpec) -> bool:
    """Whether ``features/<spec>`` was combined from the parts' current artifacts with these weights."""
    rec = ws.record(artifact_name(spec.name))
    return (rec is not None and rec["parents"] == parents_of(ws, spec)
            and rec["config"].get("parts") == [list(p) for p in spec.parts])


def write_combined(ws: Workspace, spec: BackboneSpec) -> bool:
    """Write ``features/<spec.name>`` from its parts' artifacts (unless up to date); returns
    whether it wrote. Row i is the parts' row i; top-k classes come from the first part with them."""
    if up_to_date(ws, spec):
        return False
    parts = _parts(ws, spec)
    n = len(parts[0][0].ids)
    n_views = max((0 if fs.views is None else fs.views.shape[1]) for fs, _, _ in parts)
    specs, weights = [p for _, p, _ in parts], [w for _, _, w in parts]
    with_topk = next((fs for fs, _, _ in parts if fs.topk_idx is not None), None)
    config = {"backbone": spec.name, "parts": [list(p) for p in spec.parts], "n_views": n_views,
              "spec": spec.record()}
    with ws.write_artifact(artifact_name(spec.name), config=config, parents=parents_of(ws, spec)) as tmp:
        np.save(tmp / "ids.npy", np.asarray(parts[0][0].ids))
        feats = np.lib.format.open_memmap(tmp / "features.npy", mode="w+", dtype=np.float32, shape=(n, spec.dim))
        views = (np.lib.format.open_memmap(tmp / "views.npy", mode="w+", dtype=np.float32,
                                           shape=(n, n_views, spec.dim)) if n_views else None)
        for s in range(0, n, ROW_BLOCK):
            rows = slice(s, min(n, s + ROW_BLOCK))
            feats[rows] = combine([fs.features[rows] for fs, _, _ in parts], specs, weights)
            if views is not None:
                views[rows] = combine([_views(fs, rows, n_views) for fs, _, _ in parts], specs, weights)
        feats.flush()
        del feats
        if views is not None:
            views.flush()
            del views
        if with_topk is not None and with_topk.topk_prob is not None:
            np.save(tmp / "topk_idx.npy", np.asarray(with_topk.topk_idx))
            np.save(tmp / "topk_prob.npy", np.asarray(with_topk.topk_prob))
    return True


def _views(fs: FeatureSet, rows: slice, n_views: int) -> np.ndarray:
    """(b, n_views, D) views of ``fs``'s ``rows``: its own, then its original for those it lacks."""
    orig = np.asarray(fs.features[rows], np.float32)[:, None]
    have = 0 if fs.views is None else min(n_views, fs.views.shape[1])
    own = np.asarray(fs.views[rows, :have], np.float32) if have else np.zeros((len(orig), 0, orig.shape[2]), np.float32)
    return np.concatenate([own, np.repeat(orig, n_views - have, axis=1)], axis=1)
