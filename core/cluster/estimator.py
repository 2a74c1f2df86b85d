"""``AdaptiveDeepCluster``: the estimator that validates once in ``fit`` and runs the loop.

Every ``reassign_every`` epochs all items go through the projection head and MiniBatchKMeans
(warm-started from the previous centroids) assigns pseudo-labels; the projection and cluster
heads are then trained with cross-entropy on them, drawing each sample from the cached features
of the original or of one of its augmented views. Empty clusters are re-seeded; class-balanced
sampling keeps one cluster from swallowing the rest. The novelty test fills a buffer; a full
buffer grows k by one, up to ``k_max``, when a label-free test backs it: by default the held-out
split test of :mod:`~core.cluster.kselect` on the clusters holding the novel samples.

The maths lives in module-level functions: :mod:`~core.cluster.pseudo_labels`,
:mod:`~core.cluster.epoch`, :mod:`~core.cluster.novelty`, :mod:`~core.cluster.preprocess`;
checkpoints in :mod:`~core.cluster.checkpoint`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from core.cluster import checkpoint
from core.cluster.config import ClusterConfig
from core.cluster.distances import Distances, centroid_distances, labelled_distances, unit
from core.cluster.epoch import nearest_neighbors, train_epoch
from core.cluster.history import epoch_record, reference_labels
from core.cluster.kselect import candidates, split_test
from core.cluster.novelty import NoveltyBuffer, NoveltyConfig, distance_stats, growth_seed, novel_mask
from core.cluster.preprocess import fit_preprocessing
from core.cluster.pseudo_labels import class_means, kmeans, reseed_empty, umap_labels
from core.cluster.state import FitState
from core.cluster.validation import check_features, check_fit_input
from core.errors import InvalidInputError
from core.progress import Progress, report

_DEFAULTS = ClusterConfig()


class AdaptiveDeepCluster(ClusterMixin, BaseEstimator):
    """DeepCluster with a projection head, adaptive k and novelty detection.

    Parameters
    ----------
    Every field of :class:`~core.cluster.config.ClusterConfig` that its ``estimator_params()``
    returns, with the same meaning and default (the config is where both live), and
    checkpoint_path : where to save every ``checkpoint_every`` epochs and at the end (and,
        with ``resume``, to continue from); None: no checkpoints.
    """

    def __init__(
        self,
        *,
        k_init: int = _DEFAULTS.k_init,
        k_max: int = _DEFAULTS.k_max,
        n_epochs: int = _DEFAULTS.n_epochs,
        min_epochs: int = _DEFAULTS.min_epochs,
        reassign_every: int = _DEFAULTS.reassign_every,
        stop_stability: float = _DEFAULTS.stop_stability,
        lr: float = _DEFAULTS.lr,
        weight_decay: float = _DEFAULTS.weight_decay,
        batch_size: int = _DEFAULTS.batch_size,
        hidden_dim: int = _DEFAULTS.hidden_dim,
        out_dim: int = _DEFAULTS.out_dim,
        dropout: float = _DEFAULTS.dropout,
        balance: str = _DEFAULTS.balance,
        equipartition: bool = _DEFAULTS.equipartition,
        pca_dim: int | None = _DEFAULTS.pca_dim,
        whiten: bool = _DEFAULTS.whiten,
        neighbor_weight: float = _DEFAULTS.neighbor_weight,
        n_neighbors: int = _DEFAULTS.n_neighbors,
        init_umap: int | None = _DEFAULTS.init_umap,
        umap_neighbors: int = _DEFAULTS.umap_neighbors,
        n_sigma: float = _DEFAULTS.n_sigma,
        min_confidence: float = _DEFAULTS.min_confidence,
        novelty_buffer: int = _DEFAULTS.novelty_buffer,
        k_select: str = _DEFAULTS.k_select,
        split_alpha: float = _DEFAULTS.split_alpha,
        kmeans_batch_size: int = _DEFAULTS.kmeans_batch_size,
        kmeans_max_iter: int = _DEFAULTS.kmeans_max_iter,
        silhouette_sample: int = _DEFAULTS.silhouette_sample,
        checkpoint_path: str | Path | None = None,
        checkpoint_every: int = _DEFAULTS.checkpoint_every,
        resume: bool = _DEFAULTS.resume,
        random_state: int | None = _DEFAULTS.random_state,
    ) -> None:
        self.k_init = k_init
        self.k_max = k_max
        self.n_epochs = n_epochs
        self.min_epochs = min_epochs
        self.reassign_every = reassign_every
        self.stop_stability = stop_stability
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.hidden_dim = hidden_dim
        self.out_dim = out_dim
        self.dropout = dropout
        self.balance = balance
        self.equipartition = equipartition
        self.pca_dim = pca_dim
        self.whiten = whiten
        self.neighbor_weight = neighbor_weight
        self.n_neighbors = n_neighbors
        self.init_umap = init_umap
        self.umap_neighbors = umap_neighbors
        self.n_sigma = n_sigma
        self.min_confidence = min_confidence
        self.novelty_buffer = novelty_buffer
        self.k_select = k_select
        self.split_alpha = split_alpha
        self.kmeans_batch_size = kmeans_batch_size
        self.kmeans_max_iter = kmeans_max_iter
        self.silhouette_sample = silhouette_sample
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.resume = resume
        self.random_state = random_state

    @property
    def novelty_config(self) -> NoveltyConfig:
        """The novelty thresholds (validated on construction)."""
        return NoveltyConfig(self.n_sigma, self.min_confidence, self.novelty_buffer)

    # -- model pieces -------------------------------------------------------------------------
    def _build(self, in_dim: int, k: int) -> None:
        """Fresh heads for preprocessed inputs of ``in_dim`` dims and ``k`` clusters, seeded."""
        import torch

        from core.cluster.heads import ClusterHead, ProjectionHead

        if self.random_state is not None:
            torch.manual_seed(self.random_state)
        self.projection_ = ProjectionHead(in_dim, self.hidden_dim, self.out_dim, self.dropout)
        self.cluster_head_ = ClusterHead(self.out_dim, k)
        self._make_optimizers()

    def _make_optimizers(self, head_only: bool = False) -> None:
        import torch

        if not head_only:
            self._opt_proj = torch.optim.Adam(self.projection_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self._opt_head = torch.optim.Adam(self.cluster_head_.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def _embed(self, Xp: np.ndarray) -> np.ndarray:
        """Preprocessed features (n, D') → head embeddings (n, out_dim)."""
        from core.cluster.heads import embed

        return embed(self.projection_, Xp)

    def preprocess(self, X: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """Raw features (n, D) → preprocessed (n, D') float32 (see :class:`Preprocessing`)."""
        return self.preprocessing_.apply(X, chunk)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Raw features (n, D) → L2-normalised head embeddings (n, out_dim)."""
        self._check_fitted()
        X = check_features(X)
        expected = self.preprocessing_.raw_dim
        if X.shape[1] != expected:
            raise InvalidInputError(f"features have D={X.shape[1]} but the model was fitted on D={expected}")
        return self._embed(self.preprocess(X))

    def assign(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Assign new items (n, D) to the learned clusters.

        Returns ``{"labels": (n,) int, "confidence": (n,) float, "similarity": (n,) cosine to
        the nearest centroid, "novel": (n,) bool}``; novelty uses the thresholds of the fit
        (``novelty_mu_``, ``novelty_sigma_``) and ``min_confidence``.
        """
        Z = self.transform(X)
        dist = centroid_distances(Z, self.centroids_)
        novel = novel_mask(dist, self.novelty_config, stats=(self.novelty_mu_, self.novelty_sigma_))
        sim = (Z * self.centroids_[dist.nearest]).sum(1)
        return {"labels": dist.nearest, "confidence": dist.confidence, "similarity": sim, "novel": novel}

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n, D) → (n,) nearest cluster by cosine similarity."""
        return self.assign(X)["labels"]

    def _check_fitted(self) -> None:
        if not hasattr(self, "centroids_"):
            raise InvalidInputError("this AdaptiveDeepCluster is not fitted yet; call fit first")

    # -- the loop --------------------------------------------------------------------------
    def fit(
        self,
        features: np.ndarray,
        views: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        progress: Progress = None,
    ) -> AdaptiveDeepCluster:
        """Cluster ``features``.

        Parameters
        ----------
        features : (N, D) frozen-backbone features.
        views : (N, V, D) features of V augmented views per item, or None.
        labels : (N,) reference labels (None / NaN / "" where unlabelled), used only for the
            history's accuracy, NMI, ARI, purity and F1, never for training.
        progress : ``progress(epoch, n_epochs)``.

        Returns
        -------
        self, with ``labels_`` (N,), ``centroids_`` (k, out_dim), ``k_``, ``confidence_`` (N,),
        ``novel_`` (N,) bool, ``embedding_`` (N, out_dim), ``history_`` (list of per-epoch
        dicts), ``n_epochs_``, ``novelty_mu_``, ``novelty_sigma_``.
        """
        import torch

        X, V = check_fit_input(self, features, views)
        N, D = X.shape
        reference = reference_labels(labels, N)
        t_start = time.perf_counter()
        rng = np.random.default_rng(self.random_state)
        seed = int(rng.integers(2**31 - 1))
        torch.manual_seed(seed)
        ckpt = Path(self.checkpoint_path) if self.checkpoint_path else None
        loop = self._start(X, ckpt)
        Xp = self.preprocess(X)
        if loop.prev_labels is None:
            self._build(Xp.shape[1], self.k_init)
        views_p = None if V is None else self.preprocess(V.reshape(-1, D)).reshape(N, V.shape[1], -1)
        neighbors = nearest_neighbors(Xp, self.n_neighbors) if self.neighbor_weight > 0 else None
        while True:
            Z, dist, novel, done = self._epoch(Xp, loop, seed, reference)
            if done:
                break
            if loop.epoch >= self.n_epochs:  # n_epochs == 0: re-express the clusters in head space
                continue
            loop.last_train = train_epoch(
                self.projection_, self.cluster_head_, (self._opt_proj, self._opt_head), Xp, views_p,
                loop.labels, self.cluster_head_.k, rng, neighbors,
                balance=self.balance, batch_size=self.batch_size, neighbor_weight=self.neighbor_weight,
            )
            loop.epoch += 1
            report(progress, loop.epoch, self.n_epochs)
            if ckpt is not None and loop.epoch % self.checkpoint_every == 0:
                self._save_midway(Xp, loop, ckpt)
        self._finish(Z, loop.current_centroids, dist, novel, loop)
        self.fit_seconds_ = time.perf_counter() - t_start
        report(progress, self.n_epochs, self.n_epochs)
        if ckpt is not None:
            self.save_checkpoint(ckpt, buffer=loop.buffer.indices())
        return self

    def _start(self, X: np.ndarray, ckpt: Path | None) -> FitState:
        """The loop's first state: from the checkpoint when resuming, else fresh preprocessing
        (the heads are built once the preprocessed width is known)."""
        buffer = NoveltyBuffer(self.novelty_buffer)
        if ckpt is None or not self.resume or not ckpt.exists():
            self.preprocessing_ = fit_preprocessing(
                np.asarray(X, dtype=np.float32), self.pca_dim, self.whiten, self.random_state
            )
            return FitState(epoch=0, buffer=buffer)
        state = checkpoint.read(ckpt)
        checkpoint.check_input(state, ckpt, *X.shape)
        buffer.add(checkpoint.restore(self, state, ckpt))
        start = self.n_epochs_
        history = [r for r in self.history_ if r["epoch"] < start]
        return FitState(epoch=start, buffer=buffer, prev_labels=self.labels_, centroids=self.centroids_,
                     history=history, start_epoch=start)

    def _kmeans(self, Z: np.ndarray, k: int, init: np.ndarray | None, seed: int) -> np.ndarray:
        return kmeans(Z, k, init, seed, batch_size=self.kmeans_batch_size, max_iter=self.kmeans_max_iter,
                      equipartition=self.equipartition)

    def _settle(self, Z: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, int, Distances]:
        """Centroids after re-seeding empty clusters, how many were re-seeded, and the distances."""
        centroids, _, reseeded = reseed_empty(Z, centroids, centroid_distances(Z, centroids).nearest)
        return centroids, reseeded, centroid_distances(Z, centroids)

    def _pseudo_labels(self, Xp: np.ndarray, loop: FitState, seed: int) -> tuple[str, np.ndarray, np.ndarray, Distances, int]:
        """This epoch's space ("features" the first time, then "head"), embedding Z (N, d),
        centroids (k, d), distances and the number of re-seeded clusters."""
        k = self.cluster_head_.k
        init_labels = None
        if loop.prev_labels is None:
            # first assignment: k-means on the (preprocessed, unit) features themselves, so
            # the first pseudo-labels do not depend on the random initial head
            space, Z = "features", unit(Xp)
            if self.init_umap:
                init_labels = umap_labels(Z, k, seed, n_components=self.init_umap, n_neighbors=self.umap_neighbors)
                centroids = class_means(Z, init_labels, k, None)
            else:
                centroids = self._kmeans(Z, k, None, seed + loop.epoch)
        else:
            space, Z = "head", self._embed(Xp)
            # the previous clusters carried into the current embedding: warm start
            prev = loop.current_centroids
            init = class_means(Z, loop.labels, k, prev if prev.shape[1] == Z.shape[1] else None)
            reassign = (loop.epoch - loop.start_epoch) % self.reassign_every == 0
            centroids = self._kmeans(Z, k, init, seed + loop.epoch) if reassign else init
        centroids, reseeded, dist = self._settle(Z, centroids)
        if init_labels is not None:
            dist = labelled_distances(dist, Z, centroids, init_labels)  # keep the UMAP partition
        return space, Z, centroids, dist, reseeded

    def _grow(
        self, Z: np.ndarray, centroids: np.ndarray, dist: Distances, loop: FitState, seed: int
    ) -> tuple[np.ndarray, Distances, np.ndarray, int, bool, bool]:
        """Feed the novelty buffer; when it is full and the growth guard passes, add a cluster.

        Returns centroids, distances, novel (N,) bool, re-seeded count, grew, growth_rejected.
        """
        novel = novel_mask(dist, self.novelty_config)
        novel_idx = np.flatnonzero(novel)
        loop.buffer.retain(novel_idx)  # samples absorbed by a cluster leave the buffer
        loop.buffer.add(novel_idx)
        k = len(centroids)
        if not (loop.buffer.full and k < min(self.k_max, len(Z))):
            return centroids, dist, novel, 0, False, False
        init = self._growth_init(Z, centroids, dist, loop, seed)
        if init is None:
            return centroids, dist, novel, 0, False, True
        self.cluster_head_.resize(k + 1, init_rows=None)
        self._make_optimizers(head_only=True)
        loop.buffer.clear()
        centroids = self._kmeans(Z, k + 1, init, seed + loop.epoch)
        centroids, reseeded, dist = self._settle(Z, centroids)
        return centroids, dist, novel_mask(dist, self.novelty_config), reseeded, True, False

    def _growth_init(
        self, Z: np.ndarray, centroids: np.ndarray, dist: Distances, loop: FitState, seed: int
    ) -> np.ndarray | None:
        """The (k + 1, d) starting centroids of a growth, or None when its test rejects it.

        ``k_select="split"``: the clusters holding the most buffered novel samples are tested
        with the held-out split test (:mod:`core.cluster.kselect`); the first that passes is
        replaced by its two halves. ``"guard"``: a centroid seeded from the novel samples,
        kept when it is nearer them than their clusters are (:func:`growth_seed`).
        """
        held = loop.buffer.indices()
        if self.k_select == "guard":
            seed_vec = growth_seed(Z, held, dist.d_min)
            return None if seed_vec is None else np.vstack([centroids, seed_vec])
        for j in candidates(dist.nearest, held, len(centroids)):
            test = split_test(Z, np.flatnonzero(dist.nearest == j), j, self.split_alpha, seed + loop.epoch + j)
            loop.split_tests.append(test.record())
            if test.accepted and test.centroids is not None:
                init = centroids.copy()
                init[j] = test.centroids[0]
                return np.vstack([init, test.centroids[1:]])
        return None

    def _epoch(
        self, Xp: np.ndarray, loop: FitState, seed: int, reference: tuple[Any, Any]
    ) -> tuple[np.ndarray, Distances, np.ndarray, bool]:
        """One assignment: pseudo-labels, growth, the epoch's record; returns Z (N, d), the
        distances, novel (N,) bool and whether the loop is done."""
        t0 = time.perf_counter()
        k_before = self.cluster_head_.k
        loop.split_tests = []
        space, Z, centroids, dist, reseeded = self._pseudo_labels(Xp, loop, seed)
        centroids, dist, novel, more, grew, rejected = self._grow(Z, centroids, dist, loop, seed)
        pseudo = dist.nearest
        prev = loop.prev_labels
        stability = None if prev is None else float(1.0 - np.mean(pseudo != prev))
        from core.cluster.heads import head_accuracy

        rec = epoch_record(
            epoch=loop.epoch, k_before=k_before, k=len(centroids), Z=Z, pseudo=pseudo, dist=dist, novel=novel,
            buffer_len=len(loop.buffer), stability=stability, reseeded=reseeded + more,
            head_acc=head_accuracy(self.cluster_head_, Z, pseudo), last_train=loop.last_train,
            reference=reference, silhouette_sample=self.silhouette_sample, random_state=self.random_state,
        )
        rec.update(space=space, growth_rejected=rejected, split_tests=loop.split_tests,
                   seconds=round(time.perf_counter() - t0, 3))
        loop.history.append(rec)
        loop.prev_labels, loop.centroids = pseudo, centroids
        done = loop.epoch >= self.n_epochs and space == "head"
        if not (done or stability is None or grew) and loop.epoch >= self.min_epochs and stability >= self.stop_stability:
            loop.stopped, done = "stable", True
        return Z, dist, novel, done

    def _finish(self, Z: np.ndarray, centroids: np.ndarray, dist: Distances, novel: np.ndarray, loop: FitState) -> None:
        """Set the learned attributes from the loop's current state."""
        self.embedding_ = Z
        self.centroids_ = centroids
        self.labels_ = np.asarray(loop.prev_labels, dtype=np.int64)
        self.k_ = len(centroids)
        self.confidence_ = dist.confidence.astype(np.float32)
        self.novel_ = np.asarray(novel, dtype=bool)
        self.novelty_mu_, self.novelty_sigma_ = distance_stats(dist)
        self.history_ = loop.history
        self.n_epochs_ = loop.epoch
        self.stopped_ = loop.stopped

    def _save_midway(self, Xp: np.ndarray, loop: FitState, ckpt: Path) -> None:
        """A checkpoint between epochs: the current labels' clusters in the current head space."""
        Zh = self._embed(Xp)
        ch = class_means(Zh, loop.labels, self.cluster_head_.k, None)
        dh = centroid_distances(Zh, ch)
        self._finish(Zh, ch, dh, novel_mask(dh, self.novelty_config), loop)
        self.save_checkpoint(ckpt, buffer=loop.buffer.indices())

    # -- checkpoints ----------------------------------------------------------------------------
    def save_checkpoint(self, path: str | Path, buffer: np.ndarray | None = None) -> Path:
        """Write everything needed to resume (or to assign new items) to ``path``."""
        self._check_fitted()
        return checkpoint.save(self, path, buffer)

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> AdaptiveDeepCluster:
        """A fitted model (for ``transform`` / ``assign``) rebuilt from a checkpoint."""
        path = Path(path)
        state = checkpoint.read(path)
        names = cls._get_param_names()
        model = cls(**{k: v for k, v in state["meta"]["params"].items() if k in names})
        checkpoint.restore(model, state, path)
        return model
