"""Named directions in the tuned embedding space, and shifting a query along them.

A :class:`Direction` is a unit vector with its provenance. Three sources:

- ``attribute``: items matching a metadata attribute against the rest (difference of means or
  the normal of a logistic regression), with a held-out ROC AUC as its reliability;
- ``examples``: two sets of item ids chosen by a person (>= 3 each), with a leave-one-out AUC;
- ``pca``: a principal component, optionally oriented by a reference score (e.g. luminance).

A shifted query is ``normalise(q + sum_i w_i d_i)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InvalidInputError
from core.similarity.steering import calibrate, check_weights, reliability

__all__ = [
    "Direction",
    "MIN_EXAMPLES",
    "from_attribute",
    "from_examples",
    "from_principal_component",
    "hex_luminance",
    "leave_one_out_scores",
    "load_directions",
    "save_directions",
    "shift",
]

MIN_EXAMPLES = 3
ViewsOf = Callable[[np.ndarray], np.ndarray]
"""``views(rows)`` → (len(rows), V, d): the augmented views' embeddings of catalog rows."""
JSON_FILE = "directions.json"
NPY_FILE = "directions.npy"


@dataclass(frozen=True)
class Direction:
    """A named unit vector in the embedding space.

    Attributes
    ----------
    name : str.
    vector : (d,) float32 unit vector.
    source : ``"attribute"``, ``"examples"`` or ``"pca"``.
    provenance : dict, e.g. ``n_positive``, ``n_negative``, ``auc``, ``auc_kind``, ``created``,
        and source-specific details (attribute, method, component, example ids, ...).
    """

    name: str
    vector: np.ndarray
    source: str
    provenance: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready description without the vector (and without long id lists)."""
        prov = {k: v for k, v in self.provenance.items() if k not in ("positive_ids", "negative_ids")}
        return {"name": self.name, "source": self.source, "dim": int(self.vector.shape[0]), **prov}


def _unit(v: np.ndarray, what: str) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    n = float(np.linalg.norm(v))
    if not np.isfinite(n) or n < 1e-12:
        raise InvalidInputError(f"{what} is a zero vector: the two sides are indistinguishable")
    return (v / n).astype(np.float32)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _auc(pos_scores: np.ndarray, neg_scores: np.ndarray) -> float:
    """ROC AUC = P(score(pos) > score(neg)), ties counted half."""
    from scipy.stats import rankdata

    s = np.concatenate([pos_scores, neg_scores])
    r = rankdata(s)
    n_p, n_n = len(pos_scores), len(neg_scores)
    return float((r[:n_p].sum() - n_p * (n_p + 1) / 2) / (n_p * n_n))


def _check_embeddings(embeddings: np.ndarray) -> np.ndarray:
    X = np.asarray(embeddings, dtype=np.float32)
    if X.ndim != 2 or X.shape[0] == 0:
        raise InvalidInputError(f"embeddings must be a non-empty (N, d) matrix; got shape {X.shape}")
    return X


# -- sources ---------------------------------------------------------------------------------
def from_attribute(
    name: str,
    embeddings: np.ndarray,
    positive: np.ndarray,
    method: str = "logistic",
    test_fraction: float = 0.3,
    random_state: int = 0,
    details: Mapping[str, Any] | None = None,
) -> Direction:
    """Direction separating items that match an attribute from the rest.

    Parameters
    ----------
    name : direction name.
    embeddings : (N, d) embeddings.
    positive : (N,) bool, True where the item matches the attribute.
    method : ``"logistic"`` (normal of an L2 logistic regression) or ``"mean_diff"``.
    test_fraction : share of items held out (stratified) to measure the ROC AUC.
    details : extra provenance (e.g. the attribute and its value).

    The vector is refit on all items after the held-out AUC is measured.
    """
    from sklearn.model_selection import train_test_split

    X = _check_embeddings(embeddings)
    y = np.asarray(positive, dtype=bool)
    if y.shape != (X.shape[0],):
        raise InvalidInputError(f"positive must be (N,) = ({X.shape[0]},); got {y.shape}")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if min(n_pos, n_neg) < 2 * MIN_EXAMPLES:
        raise InvalidInputError(f"direction {name!r} needs at least {2 * MIN_EXAMPLES} matching and "
                                f"{2 * MIN_EXAMPLES} other items; got {n_pos} and {n_neg}")
    if method not in ("logistic", "mean_diff"):
        raise InvalidInputError(f"method must be 'logistic' or 'mean_diff'; got {method!r}")

    def fit(Xf: np.ndarray, yf: np.ndarray) -> np.ndarray:
        if method == "mean_diff":
            return Xf[yf].mean(axis=0) - Xf[~yf].mean(axis=0)
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
        return clf.fit(Xf, yf).coef_[0]

    tr, te = train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=y, random_state=random_state)
    w = _unit(fit(X[tr], y[tr]), f"direction {name!r}")
    scores = X[te] @ w
    auc = _auc(scores[y[te]], scores[~y[te]])
    vec = _unit(fit(X, y), f"direction {name!r}")
    prov = {"n_positive": n_pos, "n_negative": n_neg, "auc": round(auc, 4), "auc_kind": "held-out",
            "reliability": reliability(auc), "n_test": int(len(te)), "method": method, "created": _now(),
            "offset": 0.0, **calibrate(scores[y[te]], scores[~y[te]]), **dict(details or {})}
    return Direction(name, vec, "attribute", prov)


def from_examples(
    name: str,
    embeddings: np.ndarray,
    ids: Sequence[str] | np.ndarray,
    positive_ids: Sequence[str],
    negative_ids: Sequence[str],
    origin: str = "examples",
    views: ViewsOf | None = None,
) -> Direction:
    """Direction from two sets of item ids chosen by a person (difference of means).

    Parameters
    ----------
    name : direction name.
    embeddings : (N, d) embeddings; row i is item ``ids[i]``.
    ids : (N,) item ids.
    positive_ids, negative_ids : >= 3 item ids each, on the side with / without the look.
    origin : where the sets came from (recorded in the provenance).
    views : ``views(rows)`` → (len(rows), V, d) embeddings of those rows' augmented views in
        the same space, or None. With views, every example brings its V views to its side's
        mean (few examples: a steadier direction, see bench/bench_steering.py), and the
        leave-one-out leaves an example out with its views.

    The direction's calibrated probability (:func:`core.similarity.steering.probability`) is a
    logistic fit on the same leave-one-out scores. The reliability is a leave-one-out ROC AUC:
    each example is scored by the direction built from all the other examples (pessimistic for
    very small sets: leaving an example out moves its side's mean away from it).
    """
    X = _check_embeddings(embeddings)
    pos, neg = list(dict.fromkeys(positive_ids)), list(dict.fromkeys(negative_ids))
    if len(pos) < MIN_EXAMPLES or len(neg) < MIN_EXAMPLES:
        raise InvalidInputError(
            f"direction {name!r} needs at least {MIN_EXAMPLES} positive and {MIN_EXAMPLES} negative examples; "
            f"got {len(pos)} positive and {len(neg)} negative "
            f"(add {max(0, MIN_EXAMPLES - len(pos))} positive, {max(0, MIN_EXAMPLES - len(neg))} negative)")
    both = set(pos) & set(neg)
    if both:
        raise InvalidInputError(f"{len(both)} item(s) are both positive and negative examples of {name!r}")
    row = {str(i): r for r, i in enumerate(np.asarray(ids).astype(str))}
    unknown = [i for i in pos + neg if i not in row]
    if unknown:
        raise InvalidInputError(f"direction {name!r}: {len(unknown)} example id(s) are not in the catalog, "
                                f"e.g. {', '.join(unknown[:3])}")
    p_rows, n_rows = np.array([row[i] for i in pos]), np.array([row[i] for i in neg])
    P, N = _with_views(X, p_rows, views), _with_views(X, n_rows, views)
    mp, mn = P.reshape(-1, X.shape[1]).mean(axis=0), N.reshape(-1, X.shape[1]).mean(axis=0)
    vec = _unit(mp - mn, f"direction {name!r}")
    pos_s, neg_s = leave_one_out_scores(P, N, f"direction {name!r}")
    auc = _auc(pos_s, neg_s)
    prov = {"n_positive": len(pos), "n_negative": len(neg), "auc": round(auc, 4), "auc_kind": "leave-one-out",
            "reliability": reliability(auc), "offset": float((mp + mn) / 2 @ vec),
            **calibrate(np.asarray(pos_s), np.asarray(neg_s)), "origin": origin, "created": _now(),
            "n_views": int(P.shape[1] - 1), "positive_ids": pos, "negative_ids": neg}
    return Direction(name, vec, "examples", prov)


def _with_views(X: np.ndarray, rows: np.ndarray, views: ViewsOf | None) -> np.ndarray:
    """(m, 1 + V, d): each example row of ``X`` followed by its V views (V = 0 without ``views``)."""
    own = X[rows][:, None]
    if views is None:
        return own
    v = np.asarray(views(rows), dtype=np.float32)
    if v.ndim == 3 and v.shape[:2] == (len(rows), 0):  # these items have no views
        return own
    if v.ndim != 3 or v.shape[0] != len(rows) or v.shape[2] != X.shape[1]:
        raise InvalidInputError(f"views must be ({len(rows)}, V, {X.shape[1]}); got {v.shape}")
    return np.concatenate([own, v], axis=1)


def leave_one_out_scores(P: np.ndarray, N: np.ndarray, what: str = "direction") -> tuple[np.ndarray, np.ndarray]:
    """Each example's signed position along the direction built without it, relative to the
    midpoint of the two means, in closed form: O((p + n) d), not O((p + n)^2 d).

    Parameters
    ----------
    P : (p, d) positive examples, p >= 2; or (p, 1 + V, d): each example with its V views,
        left out together (the example itself, ``P[:, 0]``, is scored).
    N : (n, d) negative examples, n >= 2; or (n, 1 + V, d), likewise.

    Returns
    -------
    pos_scores : (p,) float64; ``pos_scores[j]`` uses the mean of the other p - 1 positives
        (with their views), ``(sum(P) - P[j]) / (p - 1)``, and the mean of all negatives.
    neg_scores : (n,) float64, likewise.
    """
    P64, N64 = np.asarray(P, dtype=np.float64), np.asarray(N, dtype=np.float64)
    if P64.ndim == 3:  # groups of (1 + V) rows: means over groups of group means (equal sizes)
        P64, N64, Px, Nx = P64.mean(axis=1), N64.mean(axis=1), P64[:, 0], N64[:, 0]
    else:
        Px, Nx = P64, N64
    mp, mn = P64.mean(axis=0), N64.mean(axis=0)

    def scores(x: np.ndarray, own_left_out: np.ndarray, other: np.ndarray, sign: float) -> np.ndarray:
        d = sign * (own_left_out - other)  # (m, d): positive mean minus negative mean
        norms = np.linalg.norm(d, axis=1)
        if not np.all(np.isfinite(norms)) or norms.min() < 1e-12:
            raise InvalidInputError(f"{what} is a zero vector: the two sides are indistinguishable")
        return np.einsum("ij,ij->i", x - (own_left_out + other) / 2, d) / norms

    p, n = len(P64), len(N64)
    pos_s = scores(Px, (P64.sum(axis=0) - P64) / (p - 1), mn, 1.0)
    neg_s = scores(Nx, (N64.sum(axis=0) - N64) / (n - 1), mp, -1.0)
    return pos_s, neg_s


def from_principal_component(
    name: str,
    embeddings: np.ndarray,
    component: int | None = 0,
    reference: np.ndarray | None = None,
    max_components: int = 10,
) -> Direction:
    """Direction along a principal component of the embeddings.

    Parameters
    ----------
    name : direction name.
    embeddings : (N, d) embeddings.
    component : which component (0 = largest variance); None picks, among the first
        ``max_components``, the one most correlated with ``reference``.
    reference : (N,) score that fixes the sign (the direction points towards higher reference),
        e.g. the luminance of each item's dominant colour; its correlation is recorded.
    """
    from sklearn.decomposition import PCA

    X = _check_embeddings(embeddings)
    n_comp = min(max_components, X.shape[0], X.shape[1])
    if component is not None and not 0 <= component < n_comp:
        raise InvalidInputError(f"component must be in [0, {n_comp}); got {component}")
    if component is None and reference is None:
        raise InvalidInputError("choosing a component needs a reference score")
    pca = PCA(n_components=n_comp, random_state=0).fit(X)
    proj = pca.transform(X)
    prov: dict[str, Any] = {"created": _now(), "n_items": int(X.shape[0])}
    corr = None
    if reference is not None:
        ref = np.asarray(reference, dtype=np.float64)
        if ref.shape != (X.shape[0],) or not np.isfinite(ref).all():
            raise InvalidInputError(f"reference must be (N,) = ({X.shape[0]},) finite values")
        corrs = np.array([np.corrcoef(proj[:, c], ref)[0, 1] for c in range(n_comp)])
        corrs = np.nan_to_num(corrs)
        if component is None:
            component = int(np.argmax(np.abs(corrs)))
        corr = float(corrs[component])
    assert component is not None
    vec = pca.components_[component] * (-1.0 if corr is not None and corr < 0 else 1.0)
    prov.update({"component": component,
                 "explained_variance_ratio": round(float(pca.explained_variance_ratio_[component]), 4)})
    if corr is not None:
        prov["reference_correlation"] = round(abs(corr), 4)
        top, bottom = ref >= np.quantile(ref, 2 / 3), ref <= np.quantile(ref, 1 / 3)
        s = X @ vec
        if top.any() and bottom.any():
            prov.update({"auc": round(_auc(s[top], s[bottom]), 4),
                         "auc_kind": "in-sample, top vs bottom third of reference"})
    return Direction(name, _unit(vec, f"direction {name!r}"), "pca", prov)


def hex_luminance(colours: Sequence[str]) -> np.ndarray:
    """Relative luminance (Rec. 709, gamma-decoded sRGB) of ``#rrggbb`` strings; NaN if unparsable."""
    out = np.full(len(colours), np.nan)
    for i, c in enumerate(colours):
        if isinstance(c, str) and len(c) == 7 and c.startswith("#"):
            try:
                rgb = np.array([int(c[j:j + 2], 16) for j in (1, 3, 5)]) / 255.0
            except ValueError:
                continue
            lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
            out[i] = float(lin @ np.array([0.2126, 0.7152, 0.0722]))
    return out


# -- using directions ------------------------------------------------------------------------
def shift(q: np.ndarray, weights: Mapping[str, float], directions: Mapping[str, Direction]) -> np.ndarray:
    """``normalise(q + sum_i w_i d_i)``.

    Parameters
    ----------
    q : (d,) query embedding.
    weights : ``{direction name: weight}``.
    directions : known directions by name.

    Returns
    -------
    (d,) float32 unit vector.
    """
    v = np.asarray(q, dtype=np.float64).reshape(-1).copy()
    check_weights(weights, directions, v.shape[0])
    for n, w in weights.items():
        v += float(w) * directions[n].vector
    return _unit(v, "shifted query")


def save_directions(directory: str | Path, directions: Sequence[Direction]) -> None:
    """Write ``directions.json`` (names, sources, provenance) and ``directions.npy`` (K, d)."""
    d = Path(directory)
    meta = [{"name": x.name, "source": x.source, "provenance": x.provenance} for x in directions]
    vecs = np.stack([x.vector for x in directions]).astype(np.float32) if directions else np.zeros((0, 0), np.float32)
    np.save(d / NPY_FILE, vecs)
    (d / JSON_FILE).write_text(json.dumps(meta, indent=2))


def load_directions(directory: str | Path) -> dict[str, Direction]:
    """Read directions written by :func:`save_directions`; {} if none were saved."""
    d = Path(directory)
    if not (d / JSON_FILE).is_file():
        return {}
    meta = json.loads((d / JSON_FILE).read_text())
    vecs = np.load(d / NPY_FILE, allow_pickle=False)
    if len(meta) != len(vecs):
        raise InvalidInputError(f"{d / JSON_FILE} lists {len(meta)} directions but {d / NPY_FILE} holds {len(vecs)}")
    return {m["name"]: Direction(m["name"], vecs[i], m["source"], m["provenance"]) for i, m in enumerate(meta)}
