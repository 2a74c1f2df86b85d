"""TripletEmbedder: trains the similarity head with semi-hard triplet loss (an sklearn-style estimator).

:class:`~core.similarity.head.SimilarityHead` maps a frozen feature vector to an L2-normalised
embedding; the estimator trains it with :func:`~core.similarity.triplet.semi_hard_triplet_loss`.
Positives are two views of the same image (the cached augmented views) and, where the catalog
has one, items sharing a group (an ``item_id``-like product key). Labels feed the retrieval
metrics in ``history_``; with ``label_positives=True`` items sharing a label are positives too
(metric learning with the catalog's labels), and the validation items are still never trained on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from core.errors import CheckpointError, InvalidInputError
from core.progress import Progress, report
from core.similarity.config import SimilarityConfig
from core.similarity.head import SimilarityHead
from core.similarity.retrieval import group_partners, retrieval_metrics
from core.similarity.sampling import Split, group_members, label_classes, pair_batch, split_by_group
from core.similarity.triplet import TripletStats, semi_hard_triplet_loss

__all__ = ["TripletEmbedder"]

_D = SimilarityConfig()  # the defaults below are read from the config, never restated


class TripletEmbedder(BaseEstimator):
    """Train a :class:`SimilarityHead` with semi-hard triplet loss (sklearn conventions).

    Defaults come from :class:`~core.similarity.config.SimilarityConfig` (one source).

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
        out_dim: int = _D.out_dim,
        hidden_dim: int = _D.hidden_dim,
        margin: float = _D.margin,
        epochs: int = _D.epochs,
        lr: float = _D.lr,
        weight_decay: float = _D.weight_decay,
        batch_size: int = _D.batch_size,
        dropout: float = _D.dropout,
        group_prob: float = _D.group_prob,
        validation_fraction: float = _D.validation_fraction,
        label_positives: bool = _D.label_positives,
        instance_weight: float = _D.instance_weight,
        structure_weight: float = _D.structure_weight,
        random_state: int = _D.random_state,
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

    @classmethod
    def from_config(cls, config: SimilarityConfig) -> TripletEmbedder:
        """The estimator with every hyperparameter taken from ``config``."""
        return cls(**{name: getattr(config, name) for name in cls().get_params()})

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
        if not has_views and group_partners(groups, np.arange(features.shape[0])) is None:
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
        rng = np.random.default_rng(self.random_state)
        # Split by group so no pair straddles train and validation; the label term's classes
        # come from the labels, but the split stays by item / group.
        split = split_by_group(groups, features.shape[0], self.validation_fraction, rng)
        classes = label_classes(labels, split.keys) if self.label_positives and labels is not None else None
        with torch.random.fork_rng(devices=[]):  # seeded init and dropout; global RNG untouched
            torch.manual_seed(self.random_state)
            self._train(features, views, groups, labels, split, classes, rng, progress)
        self.validation_idx_ = split.val_idx
        return self

    def _new_head(self, train_features: np.ndarray) -> SimilarityHead:
        """A fresh head standardising by the training features (n, D)."""
        head = SimilarityHead(train_features.shape[1], self.out_dim, self.hidden_dim, self.dropout)
        head.mean.copy_(torch.from_numpy(train_features.mean(axis=0)))
        head.scale.copy_(torch.from_numpy(train_features.std(axis=0) + 1e-3))
        return head

    def _train(
        self,
        features: np.ndarray,
        views: np.ndarray | None,
        groups: np.ndarray | None,
        labels: np.ndarray | None,
        split: Split,
        classes: np.ndarray | None,
        rng: np.random.Generator,
        progress: Progress,
    ) -> None:
        """The training loop; sets ``head_``, ``in_dim_`` and ``history_``."""
        head = self._new_head(features[split.train_idx])
        opt = torch.optim.AdamW(head.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        per_batch = max(2, self.batch_size // 2)  # items per batch (two samples each)
        steps_per_epoch = max(1, int(np.ceil(len(split.train_idx) / per_batch)))
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=self.lr, total_steps=self.epochs * steps_per_epoch, pct_start=0.1)
        members = group_members(split.train_idx, split.inverse)
        self.history_: list[dict[str, Any]] = []
        for epoch in range(self.epochs):
            head.train()
            tot_loss, tot_pairs, tot_active, n_batches = 0.0, 0, 0, 0
            order = rng.permutation(split.train_idx)
            for start in range(0, len(order), per_batch):
                items = order[start:start + per_batch]
                if len(items) < 2:
                    continue
                x, y = pair_batch(items, features, views, split.inverse, members, self.group_prob, rng)
                loss, stats = self._batch_loss(head, x, y, None if classes is None else classes[items])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                tot_loss += float(loss.detach())
                tot_pairs += stats.n_pairs
                tot_active += stats.n_active
                n_batches += 1
            head.eval()
            rec: dict[str, Any] = {"epoch": epoch + 1, "loss": tot_loss / max(n_batches, 1),
                                   "active_share": tot_active / max(tot_pairs, 1)}
            if len(split.val_idx):
                self.head_ = head
                emb = self.transform(features)
                vemb = None if views is None else self.transform(views)
                rec.update(retrieval_metrics(emb, vemb, split.val_idx, labels, groups))
            self.history_.append(rec)
            report(progress, epoch + 1, self.epochs)
        self.head_ = head
        self.in_dim_ = features.shape[1]

    def _batch_loss(
        self, head: SimilarityHead, x: np.ndarray, y: np.ndarray, item_classes: np.ndarray | None
    ) -> tuple[torch.Tensor, TripletStats]:
        """Loss of one batch: x (2m, D) samples, y (2m,) item-level labels, item_classes (m,) or None.

        The item-level triplet term keeps look-alike structure; with ``item_classes`` a
        class-level term by label is added (its stats are reported); with ``structure_weight``
        a term keeps the in-batch cosine similarities of the standardised frozen features.
        """
        xt = torch.from_numpy(x)
        z = head(xt)
        loss, stats = semi_hard_triplet_loss(z, torch.from_numpy(y), self.margin)
        if item_classes is not None:
            y_lab = torch.from_numpy(np.repeat(item_classes, 2).astype(np.int64))
            loss_lab, stats = semi_hard_triplet_loss(z, y_lab, self.margin)
            loss = loss_lab + self.instance_weight * loss
        if self.structure_weight > 0:
            with torch.no_grad():
                f = nn.functional.normalize(head.standardise(xt), dim=1)
                target = f @ f.T
            loss = loss + self.structure_weight * ((z @ z.T - target) ** 2).mean()
        return loss, stats

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
