"""Triplet-tuned similarity embedding on frozen backbone features.

:class:`SimilarityHead` is a small MLP that maps a frozen feature vector to an L2-normalised
embedding; :class:`TripletEmbedder` trains it with the semi-hard triplet loss of
:mod:`core.triplet`. Positives are two views of the same image (the cached augmented views)
and, where the catalog has one, items sharing a group (an ``item_id``-like product key).
Labels feed the retrieval metrics in ``history_``; with ``label_positives=True`` items sharing a
label are positives too (metric learning with the catalog's labels), and the validation items
are still never trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.errors import CheckpointError, InvalidInputError
from core.progress import Progress, report
from core.triplet import semi_hard_triplet_loss

__all__ = [
    "SimilarityHead",
    "TripletEmbedder",
    "l2_normalise",
    "label_precision_at_k",
    "partner_topk_accuracy",
    "retrieval_metrics",
]


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm (zero rows stay zero). (n, d) -> (n, d) float32."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


class SimilarityHead(nn.Module):
    """Standardise, MLP, L2-normalise: (B, in_dim) -> (B, out_dim) unit vectors."""

    mean: torch.Tensor
    scale: torch.Tensor

    def __init__(self, in_dim: int, out_dim: int = 64, hidden_dim: int = 512, dropout: float = 0.1) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("scale", torch.ones(in_dim))
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden_dim, out_dim)
        )
        self.skip = nn.Linear(in_dim, out_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) float features -> (B, out_dim) L2-normalised embeddings."""
        h = (x - self.mean) / self.scale
        return nn.functional.normalize(self.net(h) + self.skip(h), dim=-1)


# -- retrieval metrics (numpy) ---------------------------------------------------------------
def _topk(queries: np.ndarray, gallery: np.ndarray, k: int, exclude: np.ndarray | None) -> np.ndarray:
    """Indices (n, k) of the k most cosine-similar gallery rows per query, best first."""
    sims = l2_normalise(queries) @ l2_normalise(gallery).T
    if exclude is not None:
        sims[np.arange(len(queries)), exclude] = -np.inf
    k = min(k, gallery.shape[0])
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def partner_topk_accuracy(
    queries: np.ndarray,
    gallery: np.ndarray,
    partners: Sequence[set[int]],
    exclude: np.ndarray | None = None,
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, float]:
    """Share of queries that find one of their partners among their top k.

    Parameters
    ----------
    queries : (n, d) query vectors.
    gallery : (m, d) gallery vectors.
    partners : n sets of gallery row indices that count as a hit for each query.
    exclude : (n,) gallery row to leave out per query (the query itself), or None.
    ks : the k values.

    Returns
    -------
    ``{"top1": .., "top5": .., "top10": ..}``.
    """
    top = _topk(queries, gallery, max(ks), exclude)
    out = {}
    for k in ks:
        hits = [bool(partners[i] & set(top[i, :k].tolist())) for i in range(len(queries))]
        out[f"top{k}"] = float(np.mean(hits)) if hits else float("nan")
    return out


def label_precision_at_k(
    embeddings: np.ndarray, labels: np.ndarray, query_idx: np.ndarray, k: int = 10
) -> float:
    """Mean share of the k nearest neighbours (self excluded) sharing the query's label.

    Parameters
    ----------
    embeddings : (N, d) vectors of the labelled items only.
    labels : (N,) labels.
    query_idx : (n,) rows used as queries.
    """
    labels = np.asarray(labels)
    if len(query_idx) == 0:
        return float("nan")
    top = _topk(embeddings[query_idx], embeddings, k, np.asarray(query_idx))
    return float(np.mean(labels[top] == labels[np.asarray(query_idx)][:, None]))


def _group_partners(groups: np.ndarray | None, idx: np.ndarray) -> list[set[int]] | None:
    """For each row in idx, the other rows of its group; None if no row has a partner."""
    if groups is None:
        return None
    by_group: dict[Any, list[int]] = {}
    for i, g in enumerate(groups):
        if g is not None and g == g and g != "":  # skip None / NaN / empty
            by_group.setdefault(g, []).append(i)
    out = [set(by_group.get(groups[i], [])) - {int(i)} for i in idx]
    return out if any(out) else None


def retrieval_metrics(
    items: np.ndarray,
    views: np.ndarray | None,
    query_idx: np.ndarray,
    labels: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, float]:
    """Partner-finding top-k accuracy and label precision@10 for a set of query rows.

    Partners are the other members of the query's group where groups exist; otherwise the
    query is the first augmented view of an item and its partner is the item itself.

    Parameters
    ----------
    items : (N, d) vectors of every catalog item (the gallery).
    views : (N, V, d) vectors of augmented views, or None.
    query_idx : (n,) query rows.
    labels : (N,) labels (missing as None / "" / NaN), or None.
    groups : (N,) group keys, or None.
    """
    query_idx = np.asarray(query_idx, dtype=np.int64)
    out: dict[str, float] = {}
    partners = _group_partners(groups, query_idx)
    if partners is not None:
        keep = np.array([bool(p) for p in partners])
        acc = partner_topk_accuracy(
            items[query_idx[keep]], items, [p for p in partners if p], exclude=query_idx[keep], ks=ks
        )
        out.update({f"partner_{k}": v for k, v in acc.items()})
        out["partner_source"] = "group"  # type: ignore[assignment]
    elif views is not None and views.shape[1] > 0:
        acc = partner_topk_accuracy(views[query_idx, 0], items, [{int(i)} for i in query_idx], ks=ks)
        out.update({f"partner_{k}": v for k, v in acc.items()})
        out["partner_source"] = "view"  # type: ignore[assignment]
    if labels is not None:
        lab = np.asarray(labels, dtype=object)
        has = np.array([x is not None and x == x and str(x) != "" for x in lab])
        if has.sum() > 10:
            pos = np.full(len(lab), -1)
            pos[has] = np.arange(has.sum())
            q = pos[query_idx[has[query_idx]]]
            out["label_precision_at_10"] = label_precision_at_k(items[has], lab[has].astype(str), q, 10)
    return out


# -- the estimator ---------------------------------------------------------------------------
class TripletEmbedder:
    """Train a :class:`SimilarityHead` with semi-hard triplet loss (sklearn conventions).

    Parameters
    ----------
    out_dim : int, embedding dimension.
    hidden_dim : int, width of the MLP's hidden layer.
    margin : float, triplet margin on cosine distance.
    epochs : int, passes over the training items.
    lr : float, AdamW learning rate.
    weight_decay : float, AdamW weight decay.
    batch_size : int, samples per batch (two per item, so ``batch_size // 2`` items).
    dropout : float, dropout of the hidden layer.
    group_prob : float, chance that an item's positive is a group partner rather than a view.
    validation_fraction : float, share of items held out of training; ``history_`` metrics are
        measured on them.
    label_positives : bool, add a class-level triplet term whose positives are training items
        sharing a label (metric learning with the catalog's labels); off: views and groups only.
    instance_weight : float, weight of the item-level (views / groups) term next to the
        class-level one when ``label_positives``.
    structure_weight : float, weight of a term keeping in-batch cosine similarities close to
        those of the standardised frozen features (0: off).
    random_state : int, seed of the initialisation, the split and the batch sampling.

    Attributes
    ----------
    head_ : SimilarityHead (eval mode).
    history_ : list of dict, per epoch: ``epoch``, ``loss``, ``active_share``, retrieval
        metrics on held-out items (``partner_top1/5/10``, ``label_precision_at_10``).
    validation_idx_ : (n_val,) int rows held out of training.
    in_dim_ : int.
    """

    def __init__(
        self,
        out_dim: int = 64,
        hidden_dim: int = 512,
        margin: float = 0.2,
        epochs: int = 30,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 256,
        dropout: float = 0.1,
        group_prob: float = 0.5,
        validation_fraction: float = 0.1,
        label_positives: bool = False,
        instance_weight: float = 1.0,
        structure_weight: float = 0.0,
        random_state: int = 0,
    ) -> None:
        self.out_dim = out_dim
        self.hidden_dim = hidden_dim
        self.margin = margin
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.dropout = dropout
        self.group_prob = group_prob
        self.validation_fraction = validation_fraction
        self.label_positives = label_positives
        self.instance_weight = instance_weight
        self.structure_weight = structure_weight
        self.random_state = random_state

    def get_params(self) -> dict[str, Any]:
        """The constructor's keyword arguments."""
        return {k: getattr(self, k) for k in (
            "out_dim", "hidden_dim", "margin", "epochs", "lr", "weight_decay", "batch_size",
            "dropout", "group_prob", "validation_fraction", "label_positives", "instance_weight",
            "structure_weight", "random_state")}

    # -- validation --------------------------------------------------------------------------
    def _check(self, features: np.ndarray, views: np.ndarray | None, groups: np.ndarray | None) -> None:
        if features.ndim != 2 or features.shape[0] < 4:
            raise InvalidInputError(f"features must be (N >= 4, D); got shape {features.shape}")
        if not np.isfinite(features).all():
            raise InvalidInputError("features contain NaN or infinite values")
        if views is not None and (views.ndim != 3 or views.shape[0] != features.shape[0]
                                  or views.shape[2] != features.shape[1]):
            raise InvalidInputError(f"views must be (N, V, D) = ({features.shape[0]}, V, {features.shape[1]}); "
                                    f"got {views.shape}")
        if groups is not None and len(groups) != features.shape[0]:
            raise InvalidInputError(f"groups has {len(groups)} entries for {features.shape[0]} items")
        has_views = views is not None and views.shape[1] > 0
        if not has_views and _group_partners(groups, np.arange(features.shape[0])) is None:
            raise InvalidInputError("no positives: give augmented views (N, V, D) or groups with >= 2 members")
        for name, lo, hi in (("out_dim", 2, 4096), ("epochs", 1, 10_000), ("batch_size", 4, 65_536)):
            v = getattr(self, name)
            if not isinstance(v, int) or not lo <= v <= hi:
                raise InvalidInputError(f"{name} must be an integer in [{lo}, {hi}]; got {v!r}")
        if not 0.0 < self.margin <= 2.0:
            raise InvalidInputError(f"margin must be in (0, 2] (cosine distance); got {self.margin}")
        if not 0.0 <= self.validation_fraction < 0.9:
            raise InvalidInputError(f"validation_fraction must be in [0, 0.9); got {self.validation_fraction}")

    # -- fit ---------------------------------------------------------------------------------
    def fit(
        self,
        features: np.ndarray,
        views: np.ndarray | None = None,
        groups: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        progress: Progress = None,
    ) -> TripletEmbedder:
        """Train the head.

        Parameters
        ----------
        features : (N, D) frozen features of the catalog images.
        views : (N, V, D) frozen features of V augmented views of each image, or None.
        groups : (N,) group keys (items sharing a key are positives), or None.
        labels : (N,) labels, or None: the metrics in ``history_``, and with
            ``label_positives`` also training positives (never for held-out items).
        progress : called ``(epoch_done, epochs)``.
        """
        features = np.asarray(features, dtype=np.float32)
        views = None if views is None else np.asarray(views, dtype=np.float32)
        groups = None if groups is None else np.asarray(groups, dtype=object)
        self._check(features, views, groups)
        n, d = features.shape
        rng = np.random.default_rng(self.random_state)

        # Split by group so no pair straddles train and validation.
        keys = np.array([g if (groups is not None and g is not None and g == g and g != "") else f"__{i}"
                         for i, g in enumerate(groups if groups is not None else [None] * n)], dtype=object)
        uniq, inverse = np.unique(keys.astype(str), return_inverse=True)
        n_val_groups = int(round(len(uniq) * self.validation_fraction))
        val_groups = set(rng.permutation(len(uniq))[:n_val_groups].tolist())
        is_val = np.array([g in val_groups for g in inverse])
        train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)
        if len(train_idx) < 4:
            raise InvalidInputError(f"only {len(train_idx)} training items after the validation split")
        label_inverse = None
        if self.label_positives and labels is not None:
            # Class-level positives by label (the validation split above stays by item/group).
            lab = np.asarray(labels, dtype=object)
            if len(lab) != n:
                raise InvalidInputError(f"labels has {len(lab)} entries for {n} items")
            lkeys = np.array([f"L:{x}" if (x is not None and x == x and str(x) != "") else f"K:{keys[i]}"
                              for i, x in enumerate(lab)], dtype=object)
            label_inverse = np.unique(lkeys.astype(str), return_inverse=True)[1]

        with torch.random.fork_rng(devices=[]):  # seeded init and dropout; global RNG untouched
            torch.manual_seed(self.random_state)
            self._train(features, views, groups, labels, inverse, label_inverse, train_idx, val_idx, rng,
                        progress)
        self.validation_idx_ = val_idx
        return self

    def _train(
        self,
        features: np.ndarray,
        views: np.ndarray | None,
        groups: np.ndarray | None,
        labels: np.ndarray | None,
        inverse: np.ndarray,
        label_inverse: np.ndarray | None,
        train_idx: np.ndarray,
        val_idx: np.ndarray,
        rng: np.random.Generator,
        progress: Progress,
    ) -> None:
        """The training loop; sets ``head_``, ``in_dim_`` and ``history_``."""
        d = features.shape[1]
        head = SimilarityHead(d, self.out_dim, self.hidden_dim, self.dropout)
        train_feats = features[train_idx]
        head.mean.copy_(torch.from_numpy(train_feats.mean(axis=0)))
        head.scale.copy_(torch.from_numpy(train_feats.std(axis=0) + 1e-3))
        opt = torch.optim.AdamW(head.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        steps_per_epoch = max(1, int(np.ceil(len(train_idx) / max(2, self.batch_size // 2))))
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=self.lr, total_steps=self.epochs * steps_per_epoch, pct_start=0.1)

        # Instances of item i: 0 = its own features, 1..V = its views.
        n_views = 0 if views is None else views.shape[1]
        by_group: dict[int, list[int]] = {}
        for r in train_idx.tolist():
            by_group.setdefault(int(inverse[r]), []).append(r)
        members = {r: np.asarray(rows) for rows in by_group.values() if len(rows) > 1 for r in rows}
        self.history_: list[dict[str, Any]] = []
        per_batch = max(2, self.batch_size // 2)
        for epoch in range(self.epochs):
            head.train()
            order = rng.permutation(train_idx)
            tot_loss, tot_pairs, tot_active, n_batches = 0.0, 0, 0, 0
            for start in range(0, len(order), per_batch):
                items = order[start:start + per_batch]
                if len(items) < 2:
                    continue
                x, y = self._make_batch(items, features, views, n_views, inverse, members, rng)
                z = head(torch.from_numpy(x))
                loss, stats = semi_hard_triplet_loss(z, torch.from_numpy(y), self.margin)
                if label_inverse is not None:
                    # item-level term (above) keeps look-alike structure; class-level term by label
                    y_lab = torch.from_numpy(np.repeat(label_inverse[items], 2).astype(np.int64))
                    loss_lab, stats = semi_hard_triplet_loss(z, y_lab, self.margin)
                    loss = loss_lab + self.instance_weight * loss
                if self.structure_weight > 0:
                    # keep the frozen space's similarity structure (pattern, colour, ...) in the batch
                    with torch.no_grad():
                        xt = torch.from_numpy(x)
                        f = nn.functional.normalize((xt - head.mean) / head.scale, dim=1)
                        target = f @ f.T
                    loss = loss + self.structure_weight * ((z @ z.T - target) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                tot_loss += float(loss.detach())
                tot_pairs += stats.n_pairs
                tot_active += stats.n_active
                n_batches += 1
            head.eval()
            rec: dict[str, Any] = {
                "epoch": epoch + 1,
                "loss": tot_loss / max(n_batches, 1),
                "active_share": tot_active / max(tot_pairs, 1),
            }
            if len(val_idx):
                self.head_ = head
                emb = self.transform(features)
                vemb = None if views is None else self.transform(views)
                rec.update(retrieval_metrics(emb, vemb, val_idx, labels, groups))
            self.history_.append(rec)
            report(progress, epoch + 1, self.epochs)
        head.eval()
        self.head_ = head
        self.in_dim_ = d

    def _make_batch(
        self,
        items: np.ndarray,
        features: np.ndarray,
        views: np.ndarray | None,
        n_views: int,
        group_of: np.ndarray,
        members: dict[int, np.ndarray],
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Two samples per item: x (2m, D) float32, y (2m,) int64 group labels."""

        def instance(row: int, avoid: int | None) -> tuple[np.ndarray, int]:
            choices = [c for c in range(n_views + 1) if c != avoid] or [0]
            c = int(rng.choice(choices))
            return (features[row] if c == 0 else views[row, c - 1]), c  # type: ignore[index]

        xs, ys = [], []
        for row in items:
            row = int(row)
            a, ca = instance(row, None)
            others = members.get(row, np.array([row]))
            others = others[others != row]
            if len(others) and (n_views == 0 or rng.random() < self.group_prob):
                b, _ = instance(int(rng.choice(others)), None)
            else:
                b, _ = instance(row, ca)
            xs += [a, b]
            ys += [int(group_of[row])] * 2
        return np.stack(xs).astype(np.float32), np.asarray(ys, dtype=np.int64)

    # -- inference ---------------------------------------------------------------------------
    def transform(self, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Embed features.

        Parameters
        ----------
        X : (..., D) frozen features (e.g. (n, D) or (n, V, D)).

        Returns
        -------
        (..., out_dim) float32, L2-normalised along the last axis.
        """
        head = getattr(self, "head_", None)
        if head is None:
            raise InvalidInputError("TripletEmbedder is not fitted; call fit first")
        X = np.asarray(X, dtype=np.float32)
        if X.shape[-1] != head.mean.shape[0]:
            raise InvalidInputError(f"features have dimension {X.shape[-1]}; the head expects {head.mean.shape[0]}")
        flat = X.reshape(-1, X.shape[-1])
        out = np.empty((flat.shape[0], self.out_dim), dtype=np.float32)
        with torch.inference_mode():
            for s in range(0, flat.shape[0], batch_size):
                out[s:s + batch_size] = head(torch.from_numpy(np.array(flat[s:s + batch_size], dtype=np.float32))).numpy()
        return out.reshape(*X.shape[:-1], self.out_dim)

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write hyperparameters, input dimension and head weights to ``path`` (torch file)."""
        torch.save({"params": self.get_params(), "in_dim": self.in_dim_,
                    "state_dict": self.head_.state_dict()}, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> TripletEmbedder:
        """Read a head written by :meth:`save`; CheckpointError if it does not fit."""
        try:
            blob = torch.load(Path(path), map_location="cpu", weights_only=True)
            est = cls(**blob["params"])
            head = SimilarityHead(int(blob["in_dim"]), est.out_dim, est.hidden_dim, est.dropout)
            head.load_state_dict(blob["state_dict"])
        except FileNotFoundError:
            raise
        except Exception as exc:  # noqa: BLE001 - any unreadable / mismatched checkpoint
            raise CheckpointError(f"similarity head {path} is unreadable or does not fit: {exc}") from exc
        head.eval()
        est.head_ = head
        est.in_dim_ = int(blob["in_dim"])
        est.history_ = []
        est.validation_idx_ = np.array([], dtype=np.int64)
        return est
