"""Names a stylist can read, and representative items, for clusters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.cluster.vocabulary import vocabulary
from core.colour import colour_family
from core.imagenet import class_name

# a second word (or family) joins the name when it holds at least this share of the first's mass
SECOND_WORD_SHARE = 0.5
# below this share of the vocabulary mass, the top word does not speak for the group: name its families
WORD_SHARE = 0.35
# the colour family names the group when at least this share of its members has it
COLOUR_SHARE = 0.5


@dataclass(frozen=True)
class ClusterName:
    """How one cluster (or a group of clusters in the tree) is presented.

    name : e.g. "Black jeans / shorts": colour family (when most members share it) and the
        fashion vocabulary's words (:mod:`core.cluster.vocabulary`); catalog labels never enter.
    label : most common catalog label among members, or None (shown beside, for reference).
    label_share : fraction of labelled members carrying ``label`` (0 when none).
    imagenet : the ImageNet classes (fashion ones only) that gave the words, most mass first.
    words : the stylist words of the name, most mass first.
    colour : the colour family in the name, or None.
    """

    name: str
    label: str | None
    label_share: float
    imagenet: tuple[str, ...]
    words: tuple[str, ...] = ()
    colour: str | None = None


def majority_label(values: np.ndarray) -> tuple[str | None, float]:
    """Most common non-missing value of ``values`` (n,) and its share of the non-missing ones."""
    vals = [str(v) for v in values if not pd.isna(v) and str(v) != ""]
    if not vals:
        return None, 0.0
    uniq, counts = np.unique(np.asarray(vals), return_counts=True)
    best = int(counts.argmax())  # np.unique sorts, so ties go to the alphabetically first
    return str(uniq[best]), float(counts[best] / len(vals))


def class_mass(topk_idx: np.ndarray, topk_prob: np.ndarray) -> np.ndarray:
    """(1000,) summed probability of each ImageNet class over members' top-K (m, K)."""
    mass = np.zeros(1000, np.float64)
    if len(topk_idx):
        np.add.at(mass, np.asarray(topk_idx, dtype=np.int64).ravel(), np.asarray(topk_prob, np.float64).ravel())
    return mass


def top_imagenet(topk_idx: np.ndarray, topk_prob: np.ndarray, n: int = 2, fashion_only: bool = False) -> tuple[str, ...]:
    """The ``n`` ImageNet classes with the most probability mass over members (of the fashion
    vocabulary only, with ``fashion_only``). topk_idx (m, K) class indices, topk_prob (m, K)."""
    mass = class_mass(topk_idx, topk_prob)
    if fashion_only:
        mass[vocabulary().word == ""] = 0.0
    order = np.argsort(-mass, kind="stable")[:n]
    return tuple(class_name(int(i)) for i in order if mass[i] > 0)


def _ranked(mass: np.ndarray, keys: np.ndarray) -> list[tuple[str, float]]:
    """Mass (1000,) summed by ``keys`` (1000,) str ("" dropped), largest first (ties by key)."""
    totals: dict[str, float] = {}
    for key, m in zip(keys.tolist(), mass.tolist(), strict=True):
        if key and m > 0:
            totals[key] = totals.get(key, 0.0) + m
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))


def fashion_words(topk_idx: np.ndarray, topk_prob: np.ndarray) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The stylist words naming members with ImageNet top-K ``topk_idx`` / ``topk_prob`` (m, K),
    and the fashion ImageNet classes behind them: the top word, and a second one holding at
    least :data:`SECOND_WORD_SHARE` of its mass; or, when no word holds :data:`WORD_SHARE` of
    the vocabulary's mass (a coarse group), the top families the same way."""
    vocab = vocabulary()
    mass = class_mass(topk_idx, topk_prob)
    mass[vocab.word == ""] = 0.0
    total = mass.sum()
    if total <= 0:
        return (), ()
    ranked = _ranked(mass, vocab.word)
    if ranked[0][1] < WORD_SHARE * total:
        ranked = _ranked(mass, vocab.family)
    chosen = [ranked[0][0]] + [w for w, m in ranked[1:2] if m >= SECOND_WORD_SHARE * ranked[0][1]]
    classes = top_imagenet(topk_idx, topk_prob, 2, fashion_only=True)
    return tuple(chosen), classes


def colour_word(colours: np.ndarray) -> str | None:
    """The colour family (:func:`core.colour.colour_family`) of at least :data:`COLOUR_SHARE`
    of the members' ``#rrggbb`` colours (m,), else None."""
    fams = [f for f in (colour_family(c) for c in colours if isinstance(c, str)) if f]
    if not fams:
        return None
    uniq, counts = np.unique(np.asarray(fams), return_counts=True)
    best = int(counts.argmax())
    return str(uniq[best]) if counts[best] >= COLOUR_SHARE * len(colours) else None


def describe(
    members: np.ndarray,
    fallback: str,
    catalog_labels: np.ndarray | None = None,
    topk_idx: np.ndarray | None = None,
    topk_prob: np.ndarray | None = None,
    colours: np.ndarray | None = None,
) -> ClusterName:
    """The name of the group of items ``members`` (m,) row indices into the (N,) / (N, K) arrays.

    Without fashion words the name is the members' majority catalog label, else ``fallback``.
    """
    label, share = (None, 0.0)
    if catalog_labels is not None and len(members):
        label, share = majority_label(np.asarray(catalog_labels, dtype=object)[members])
    words: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    if topk_idx is not None and topk_prob is not None and len(members):
        words, classes = fashion_words(np.asarray(topk_idx)[members], np.asarray(topk_prob)[members])
    colour = colour_word(np.asarray(colours, dtype=object)[members]) if colours is not None and len(members) else None
    if words:
        text = " / ".join(words)
        name = f"{colour} {text}" if colour else text
        name = name[0].upper() + name[1:]
    else:
        name = label or fallback
    return ClusterName(name, label, share, classes, words, colour if words else None)


def name_clusters(
    labels: np.ndarray,
    k: int,
    catalog_labels: np.ndarray | None = None,
    topk_idx: np.ndarray | None = None,
    topk_prob: np.ndarray | None = None,
    colours: np.ndarray | None = None,
) -> list[ClusterName]:
    """Name clusters ``0..k-1`` from their members (see :func:`describe`).

    Parameters
    ----------
    labels : (N,) cluster of each item.
    catalog_labels : (N,) catalog label per item (None / NaN / "" when missing), or None.
    topk_idx, topk_prob : (N, K) ImageNet top-K of each item, or None.
    colours : (N,) ``#rrggbb`` dominant colour per item (None where unknown), or None.
    """
    labels = np.asarray(labels)
    return [describe(np.flatnonzero(labels == j), f"cluster {j}", catalog_labels, topk_idx, topk_prob, colours)
            for j in range(k)]


def representatives(Z: np.ndarray, labels: np.ndarray, centroids: np.ndarray, n: int = 8) -> list[np.ndarray]:
    """Per cluster, the row indices of its ``n`` members nearest the centroid (by cosine).

    Z (N, d) and centroids (k, d) are L2-normalised; returns k arrays of at most n ints.
    """
    labels = np.asarray(labels)
    out = []
    for j in range(len(centroids)):
        members = np.flatnonzero(labels == j)
        sims = Z[members] @ centroids[j]
        out.append(members[np.argsort(-sims, kind="stable")[:n]])
    return out
