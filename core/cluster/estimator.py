"""Adaptive DeepCluster on cached (frozen-backbone) features.

Every ``reassign_every`` epochs all items go through the projection head and MiniBatchKMeans
(warm-started from the previous centroids) assigns pseudo-labels; the projection and cluster
heads are then trained with cross-entropy on them, drawing each sample from the cached features
of the original or of one of its augmented views. Empty clusters are re-seeded; class-balanced
sampling keeps one cluster from swallowing the rest. The novelty test fills a buffer; a full
buffer grows k by one (seeded from the novel samples), up to ``k_max``.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.equipartition import balanced_centroids
from core.errors import CheckpointError, InvalidInputError
from core.metrics import evaluate as label_scores
from core.metrics import silhouette
from core.novelty import NoveltyBuffer, NoveltyConfig, centroid_distances, novel_mask, seed_from_novel
from core.progress import Progress, report

CHECKPOINT_FORMAT = 1
# balanced refinement rounds after a cold k-means, and after a warm-started one (its centroids
# are already balanced from the previous epoch)
EQUIPARTITION_ROUNDS = (50, 5)


def _unit(X: np.ndarray) -> np.ndarray:
    """Rows of ``X`` (n, d) scaled to unit L2 norm (zero rows stay zero)."""
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return (X / np.maximum(n, 1e-12)).astype(np.float32)


def check_features(X: Any, name: str = "features") -> np.ndarray:
    """Validate a feature matrix: 2-d (or 3-d for views), numeric and finite."""
    arr = np.asarray(X)
    if arr.dtype.kind not in "fiu":
        raise InvalidInputError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.ndim not in (2, 3) or arr.shape[0] == 0 or arr.shape[-1] == 0:
        raise InvalidInputError(f"{name} must be a non-empty (N, D) matrix, got shape {arr.shape}")
    flat = arr.reshape(arr.shape[0], -1)
    # in row blocks: a catalog's views can be gigabytes, memory-mapped; no full-size temporary
    finite = np.concatenate([np.isfinite(flat[s : s + 4096]).all(axis=1) for s in range(0, len(flat), 4096)])
    if not finite.all():
        bad = np.flatnonzero(~finite)
        shown = ", ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else "")
        raise InvalidInputError(f"{name} contain NaN or infinite values in {len(bad)} rows (rows {shown})")
    return arr


class AdaptiveDeepCluster:
    """DeepCluster with a projection head, adaptive k and novelty detection.

    Parameters
    ----------
    k_init, k_max : starting and largest number of clusters (k_max == k_init: fixed k).
    n_epochs : most training epochs; the loop stops earlier once stable.
    min_epochs : epochs before the stability stop may trigger.
    reassign_every : epochs between k-means re-assignments.
    stop_stability : stop when 1 - changed / total reaches it.
    lr, weight_decay : Adam settings of both heads.
    batch_size : training batch.
    hidden_dim, out_dim, dropout : projection head sizes.
    balance : "sample" (draw pseudo-classes uniformly), "weight" (inverse-frequency loss
        weights) or "none".
    equipartition : refine each k-means with equal-size cluster marginals (Sinkhorn; see
        :mod:`core.equipartition`) so that no cluster swallows several categories. A prior for
        catalogs whose categories are of similar size.
    pca_dim : reduce (and whiten, if ``whiten``) the features with PCA before the head; None: no PCA.
    neighbor_weight : weight of a neighbour-consistency term (an item and its nearest
        neighbours in feature space should get the same cluster); 0 disables it.
    n_neighbors : neighbours used by that term.
    init_umap : when set, the first pseudo-labels come from k-means on a UMAP embedding of
        this many dimensions (of the PCA-50 of the features, cosine, ``umap_neighbors``), as in
        N2D; later epochs re-cluster in the head's space as usual. None: k-means on the features.
    n_sigma, min_confidence, novelty_buffer : the novelty test (see :mod:`core.novelty`).
    kmeans_batch_size, kmeans_max_iter : MiniBatchKMeans settings.
    silhouette_sample : items sampled for the silhouette.
    checkpoint_path, checkpoint_every, resume : save every N epochs and at the end; with
        ``resume`` a run continues from the checkpoint at ``checkpoint_path`` when it exists.
    random_state : seed of every random step.
    """

    def __init__(
        self,
        *,
        k_init: int = 10,
        k_max: int = 25,
        n_epochs: int = 30,
        min_epochs: int = 3,
        reassign_every: int = 1,
        stop_stability: float = 0.95,
        lr: float = 1e-4,
        weight_decay: float = 1e-5,
        batch_size: int = 256,
        hidden_dim: int = 512,
        out_dim: int = 256,
        dropout: float = 0.2,
        balance: str = "sample",
        equipartition: bool = False,
        pca_dim: int | None = None,
        whiten: bool = True,
        neighbor_weight: float = 0.0,
        n_neighbors: int = 10,
        init_umap: int | None = None,
        umap_neighbors: int = 30,
        n_sigma: float = 2.0,
        min_confidence: float = 0.6,
        novelty_buffer: int = 80,
        kmeans_batch_size: int = 4096,
        kmeans_max_iter: int = 20,
        silhouette_sample: int = 2000,
        checkpoint_path: str | Path | None = None,
        checkpoint_every: int = 5,
        resume: bool = True,
        random_state: int | None = 0,
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
        self.kmeans_batch_size = kmeans_batch_size
        self.kmeans_max_iter = kmeans_max_iter
        self.silhouette_sample = silhouette_sample
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every
        self.resume = resume
        self.random_state = random_state

    # -- sklearn-style helpers ------------------------------------------------------------
    _PARAMS = (
        "k_init", "k_max", "n_epochs", "min_epochs", "reassign_every", "stop_stability", "lr",
        "weight_decay", "batch_size", "hidden_dim", "out_dim", "dropout", "balance", "equipartition", "pca_dim",
        "whiten", "neighbor_weight", "n_neighbors", "init_umap", "umap_neighbors", "n_sigma", "min_confidence", "novelty_buffer",
        "kmeans_batch_size", "kmeans_max_iter", "silhouette_sample", "checkpoint_path",
        "checkpoint_every", "resume", "random_state",
    )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {p: getattr(self, p) for p in self._PARAMS}

    def set_params(self, **params: Any) -> AdaptiveDeepCluster:
        for key, value in params.items():
            if key not in self._PARAMS:
                raise InvalidInputError(f"unknown parameter {key!r}")
            setattr(self, key, value)
        return self

    @property
    def novelty_config(self) -> NoveltyConfig:
        return NoveltyConfig(self.n_sigma, self.min_confidence, self.novelty_buffer)

    def _validate_params(self) -> None:
        if self.k_init < 2:
            raise InvalidInputError(f"k_init must be >= 2, got {self.k_init}")
        if self.k_init > self.k_max:
            raise InvalidInputError(f"k_init ({self.k_init}) must not exceed k_max ({self.k_max})")
        if self.n_epochs < 0 or self.min_epochs < 0:
            raise InvalidInputError("n_epochs and min_epochs must be >= 0")
        if self.reassign_every < 1 or self.checkpoint_every < 1:
            raise InvalidInputError("reassign_every and checkpoint_every must be >= 1")
        if not 0.0 < self.stop_stability <= 1.0:
            raise InvalidInputError(f"stop_stability must be in (0, 1], got {self.stop_stability}")
        if self.balance not in ("sample", "weight", "none"):
            raise InvalidInputError(f"balance must be 'sample', 'weight' or 'none', got {self.balance!r}")
        if self.lr <= 0 or self.weight_decay < 0 or self.batch_size < 2:
            raise InvalidInputError("lr must be > 0, weight_decay >= 0, batch_size >= 2")
        if self.pca_dim is not None and self.pca_dim < 2:
            raise InvalidInputError(f"pca_dim must be >= 2 or None, got {self.pca_dim}")
        if self.init_umap is not None and self.init_umap < 2:
            raise InvalidInputError(f"init_umap must be >= 2 or None, got {self.init_umap}")
        if self.neighbor_weight < 0 or self.n_neighbors < 1:
            raise InvalidInputError("neighbor_weight must be >= 0 and n_neighbors >= 1")
        self.novelty_config  # noqa: B018 - validates the thresholds

    # -- preprocessing ----------------------------------------------------------------------
    def _fit_preprocess(self, X: np.ndarray) -> None:
        D = X.shape[1]
        self.pre_mean_ = X.mean(0).astype(np.float32)
        if self.pca_dim is None or self.pca_dim >= min(X.shape):
            # one global scale keeps the geometry (a per-dimension one would blow up noise dims)
            self.pre_components_ = None
            self.pre_scale_ = np.full(D, float(np.sqrt(((X - self.pre_mean_) ** 2).sum(1).mean() / D)) + 1e-6, np.float32)
            return
        from sklearn.decomposition import PCA

        sample = X
        if len(X) > 20000:
            rng = np.random.default_rng(self.random_state)
            sample = X[rng.choice(len(X), 20000, replace=False)]
        pca = PCA(self.pca_dim, random_state=self.random_state).fit(sample)
        self.pre_mean_ = pca.mean_.astype(np.float32)
        self.pre_components_ = pca.components_.astype(np.float32)  # (p, D)
        scale = np.sqrt(pca.explained_variance_) if self.whiten else np.ones(self.pca_dim)
        self.pre_scale_ = (scale + 1e-6).astype(np.float32)
        assert self.pre_components_.shape[1] == D

    def preprocess(self, X: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """Centre, (PCA-)project and scale raw features (n, D) → (n, D') float32, in row blocks
        (``X`` may be a large memory-mapped array: only the output is held in full)."""
        X = np.asarray(X)
        comps = self.pre_components_
        out = np.empty((len(X), X.shape[1] if comps is None else len(comps)), np.float32)
        for s in range(0, len(X), chunk):
            block = np.asarray(X[s : s + chunk], dtype=np.float32) - self.pre_mean_
            if comps is not None:
                block = block @ comps.T
            out[s : s + chunk] = block / self.pre_scale_
        return out

    # -- model pieces -------------------------------------------------------------------------
    def _build(self, in_dim: int, k: int) -> None:
        import torch

        from core.heads import ClusterHead, ProjectionHead

        if self.random_state is not None:
            torch.manual_seed(self.random_state)
        self.projection_ = ProjectionHead(in_dim, self.hidden_dim, self.out_dim, self.dropout)
        self.cluster_head_ = ClusterHead(self.out_dim, k)
        self._make_optimizers()

    def _make_optimizers(self, head_only: bool = False) -> None:
        import torch

        if not head_only:
            self._opt_proj = torch.optim.Adam(
                self.projection_.parameters(), lr=self.lr, weight_decay=self.weight_decay
            )
        self._opt_head = torch.optim.Adam(
            self.cluster_head_.parameters(), lr=self.lr, weight_decay=self.weight_decay
        )

    def _embed_pre(self, Xp: np.ndarray, batch: int = 8192) -> np.ndarray:
        """Preprocessed features (n, D') → head embeddings (n, out_dim), eval mode."""
        import torch

        self.projection_.eval()
        out = np.empty((len(Xp), self.out_dim), np.float32)
        with torch.no_grad():
            for s in range(0, len(Xp), batch):
                out[s : s + batch] = self.projection_(torch.from_numpy(np.ascontiguousarray(Xp[s : s + batch]))).numpy()
        return out

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Raw features (n, D) → L2-normalised head embeddings (n, out_dim)."""
        self._check_fitted()
        X = check_features(X)
        self._check_dim(X.shape[1])
        return self._embed_pre(self.preprocess(X))

    def assign(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Assign new items (n, D) to the learned clusters.

        Returns ``{"labels": (n,) int, "confidence": (n,) float, "similarity": (n,) cosine to
        the nearest centroid, "novel": (n,) bool}``; novelty uses the thresholds of the fit
        (``novelty_mu_``, ``novelty_sigma_``) and ``min_confidence``.
        """
        Z = self.transform(X)
        dist = centroid_distances(Z, self.centroids_)
        conf = dist.confidence
        novel = (dist.d_min > self.novelty_mu_ + self.n_sigma * self.novelty_sigma_) | (
            conf < self.min_confidence
        )
        sim = (Z * self.centroids_[dist.nearest]).sum(1)
        return {"labels": dist.nearest, "confidence": conf, "similarity": sim, "novel": novel}

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n, D) → (n,) nearest cluster by cosine similarity."""
        return self.assign(X)["labels"]

    def _check_fitted(self) -> None:
        if not hasattr(self, "centroids_"):
            raise InvalidInputError("this AdaptiveDeepCluster is not fitted yet; call fit first")

    def _check_dim(self, D: int) -> None:
        expected = self.pre_mean_.shape[0]
        if D != expected:
            raise InvalidInputError(f"features have D={D} but the model was fitted on D={expected}")

    # -- clustering steps -------------------------------------------------------------------------
    def _kmeans(self, Z: np.ndarray, k: int, init: np.ndarray | None, seed: int) -> np.ndarray:
        """Centroids (k, d), unit-norm, by MiniBatchKMeans (warm-started when ``init`` given)."""
        from sklearn.cluster import MiniBatchKMeans

        km = MiniBatchKMeans(
            n_clusters=k,
            init=init if init is not None else "k-means++",
            n_init=1 if init is not None else 3,
            batch_size=min(self.kmeans_batch_size, len(Z)),
            max_iter=self.kmeans_max_iter,
            random_state=seed,
            reassignment_ratio=0.0,
            compute_labels=False,
        )
        from threadpoolctl import threadpool_limits

        # mini-batch steps are small: one thread is as fast unloaded and far faster on busy cores
        with threadpool_limits(limits=1):
            km.fit(Z)
        centroids = _unit(km.cluster_centers_)
        if self.equipartition:
            rounds = EQUIPARTITION_ROUNDS[0 if init is None else 1]
            centroids = balanced_centroids(Z, centroids, n_rounds=rounds)
        return centroids

    @staticmethod
    def _reseed_empty(Z: np.ndarray, centroids: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Give every empty cluster the member of the largest cluster farthest from its centroid."""
        k = len(centroids)
        reseeded = 0
        for _ in range(k):
            sizes = np.bincount(labels, minlength=k)
            empty = np.flatnonzero(sizes == 0)
            if len(empty) == 0:
                break
            j = int(empty[0])
            big = int(sizes.argmax())
            members = np.flatnonzero(labels == big)
            if len(members) < 2:
                break
            far = members[int(((Z[members] - centroids[big]) ** 2).sum(1).argmax())]
            centroids = centroids.copy()
            centroids[j] = Z[far]
            labels = centroid_distances(Z, centroids).nearest
            reseeded += 1
        return centroids, labels, reseeded

    def _umap_labels(self, Z: np.ndarray, k: int, seed: int) -> np.ndarray:
        """(N,) k-means labels of a UMAP embedding of ``Z`` (N, d), N2D-style."""
        import umap
        from sklearn.cluster import KMeans
        from sklearn.decomposition import PCA

        P = PCA(min(50, Z.shape[1], len(Z) - 1), random_state=seed).fit_transform(Z) if Z.shape[1] > 50 else Z
        U = umap.UMAP(
            n_components=self.init_umap, n_neighbors=min(self.umap_neighbors, len(Z) - 1), min_dist=0.0,
            metric="cosine", random_state=seed,
        ).fit_transform(P)
        return KMeans(n_clusters=k, n_init=5, random_state=seed).fit_predict(U).astype(np.int64)

    def _neighbors(self, Xp: np.ndarray) -> np.ndarray:
        """(N, n_neighbors) nearest neighbours by cosine in the preprocessed feature space."""
        from sklearn import config_context
        from sklearn.neighbors import NearestNeighbors

        n = min(self.n_neighbors + 1, len(Xp))
        nn = NearestNeighbors(n_neighbors=n, metric="cosine").fit(Xp)
        # distance blocks of at most 128 MiB (sklearn's default is 1 GiB): at 50,000 items the
        # search was the loop's peak of memory
        with config_context(working_memory=128):
            idx = nn.kneighbors(Xp, return_distance=False)
        return idx[:, 1:]

    def _train_epoch(
        self,
        Xp: np.ndarray,
        views_p: np.ndarray | None,
        pseudo: np.ndarray,
        k: int,
        rng: np.random.Generator,
        neighbors: np.ndarray | None,
    ) -> dict[str, float]:
        """One epoch of cross-entropy on pseudo-labels; returns mean loss and accuracy."""
        import torch
        from torch.nn import functional as F

        N = len(Xp)
        sizes = np.bincount(pseudo, minlength=k)
        if self.balance == "sample":
            present = np.flatnonzero(sizes)
            by_class = [np.flatnonzero(pseudo == c) for c in present]
            classes = rng.integers(0, len(present), size=N)
            order = np.empty(N, np.int64)
            for ci, members in enumerate(by_class):
                sel = classes == ci
                order[sel] = members[rng.integers(0, len(members), size=int(sel.sum()))]
            weight = None
        else:
            order = rng.permutation(N)
            weight = None
            if self.balance == "weight":
                w = np.where(sizes > 0, N / (k * np.maximum(sizes, 1)), 0.0)
                weight = torch.as_tensor(w, dtype=torch.float32)
        n_views = 0 if views_p is None else views_p.shape[1]
        self.projection_.train()
        self.cluster_head_.train()
        tot_loss = tot_correct = 0.0
        n_batches = 0
        bs = self.batch_size
        for s in range(0, N - 1, bs):
            idx = order[s : s + bs]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            x = self._draw(Xp, views_p, idx, n_views, rng)
            y = torch.from_numpy(pseudo[idx])
            logits = self.cluster_head_(self.projection_(torch.from_numpy(x)))
            loss = F.cross_entropy(logits, y, weight=weight)
            if neighbors is not None and self.neighbor_weight > 0:
                nb = neighbors[idx, rng.integers(0, neighbors.shape[1], size=len(idx))]
                xn = self._draw(Xp, views_p, nb, n_views, rng)
                logits_n = self.cluster_head_(self.projection_(torch.from_numpy(xn)))
                p, q = logits.softmax(1), logits_n.softmax(1)
                loss = loss - self.neighbor_weight * torch.log((p * q).sum(1).clamp_min(1e-8)).mean()
            self._opt_proj.zero_grad()
            self._opt_head.zero_grad()
            loss.backward()
            self._opt_proj.step()
            self._opt_head.step()
            tot_loss += float(loss.detach())
            tot_correct += float((logits.detach().argmax(1) == y).float().mean())
            n_batches += 1
        return {"loss": tot_loss / max(n_batches, 1), "train_acc": tot_correct / max(n_batches, 1)}

    @staticmethod
    def _draw(
        Xp: np.ndarray, views_p: np.ndarray | None, idx: np.ndarray, n_views: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Rows ``idx`` of the original features or of a random augmented view each."""
        if not n_views or views_p is None:
            return np.ascontiguousarray(Xp[idx])
        which = rng.integers(0, n_views + 1, size=len(idx))
        x = np.array(Xp[idx], dtype=np.float32)
        use_view = which > 0
        if use_view.any():
            x[use_view] = views_p[idx[use_view], which[use_view] - 1]
        return x

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

        self._validate_params()
        X = check_features(features)
        if X.ndim != 2:
            raise InvalidInputError(f"features must be (N, D), got shape {X.shape}")
        N, D = X.shape
        if N < self.k_init:
            raise InvalidInputError(f"fewer items ({N}) than clusters (k_init={self.k_init})")
        V = None
        if views is not None:
            V = check_features(views, "views")
            if V.ndim != 3 or V.shape[0] != N or V.shape[2] != D:
                raise InvalidInputError(f"views must have shape ({N}, V, {D}), got {V.shape}")
            if V.shape[1] == 0:
                V = None
        mask, y_ref = _labelled(labels, N)
        t_start = time.perf_counter()
        rng = np.random.default_rng(self.random_state)
        seed = int(rng.integers(2**31 - 1))
        torch.manual_seed(seed)

        ckpt = Path(self.checkpoint_path) if self.checkpoint_path else None
        start_epoch = 0
        buffer = NoveltyBuffer(self.novelty_buffer)
        if ckpt is not None and self.resume and ckpt.exists():
            state = self._load_state(ckpt, N, D)
            start_epoch = state["epoch"]
            buffer.add(state["buffer"])
            prev_labels = state["labels"]
            centroids = state["centroids"]
            history: list[dict[str, Any]] = [r for r in state["history"] if r["epoch"] < start_epoch]
            Xp = self.preprocess(X)
        else:
            self._fit_preprocess(np.asarray(X, dtype=np.float32))
            Xp = self.preprocess(X)
            self._build(Xp.shape[1], self.k_init)
            prev_labels = None
            centroids = None
            history = []
        views_p = None
        if V is not None:
            views_p = self.preprocess(V.reshape(-1, D)).reshape(N, V.shape[1], -1)
        neighbors = self._neighbors(Xp) if self.neighbor_weight > 0 else None
        k_cap = min(self.k_max, N)
        last_train: dict[str, float] = {}
        epoch = start_epoch
        stopped = "max_epochs"
        while True:
            t0 = time.perf_counter()
            k_before = self.cluster_head_.k
            k = k_before
            if prev_labels is None:
                # first assignment: k-means on the (preprocessed, unit) features themselves, so
                # the first pseudo-labels do not depend on the random initial head
                space = "features"
                Z = _unit(Xp)
                if self.init_umap:
                    init_labels = self._umap_labels(Z, k, seed)
                    centroids = _class_means(Z, init_labels, k, None)
                else:
                    centroids = self._kmeans(Z, k, None, seed + epoch)
            else:
                space = "head"
                Z = self._embed_pre(Xp)
                # the previous clusters carried into the current embedding: warm start
                init = _class_means(Z, prev_labels, k, centroids if centroids.shape[1] == Z.shape[1] else None)
                reassign = (epoch - start_epoch) % self.reassign_every == 0
                centroids = self._kmeans(Z, k, init, seed + epoch) if reassign else init
            dist = centroid_distances(Z, centroids)
            pseudo = dist.nearest
            centroids, pseudo, reseeded = self._reseed_empty(Z, centroids, pseudo)
            dist = centroid_distances(Z, centroids)
            if space == "features" and self.init_umap:
                dist = _with_labels(dist, Z, centroids, init_labels)  # keep the UMAP partition
            novel = novel_mask(dist, self.novelty_config)
            novel_idx = np.flatnonzero(novel)
            buffer.retain(novel_idx)  # samples absorbed by a cluster leave the buffer
            buffer.add(novel_idx)
            grew = False
            growth_rejected = False
            if buffer.full and k < k_cap:
                held = buffer.indices()
                seed_raw, members = seed_from_novel(Z[held])
                seed_vec = _unit(seed_raw[None, :])
                # grow only when the seed explains its novel members better than the existing
                # centroids do (a coherent new group, not stragglers of several clusters)
                d_seed = np.linalg.norm(Z[held[members]] - seed_vec, axis=1).mean()
                if d_seed >= dist.d_min[held[members]].mean():
                    growth_rejected = True
            if buffer.full and k < k_cap and not growth_rejected:
                centroids = np.vstack([centroids, seed_vec])
                k += 1
                self.cluster_head_.resize(k, init_rows=None)
                self._make_optimizers(head_only=True)
                buffer.clear()
                grew = True
                centroids = self._kmeans(Z, k, centroids, seed + epoch)
                dist = centroid_distances(Z, centroids)
                pseudo = dist.nearest
                centroids, pseudo, more = self._reseed_empty(Z, centroids, pseudo)
                reseeded += more
                dist = centroid_distances(Z, centroids)
                novel = novel_mask(dist, self.novelty_config)
            pseudo = dist.nearest
            stability = None if prev_labels is None else float(1.0 - np.mean(pseudo != prev_labels))
            rec = self._record(
                epoch, k_before, k, Z, pseudo, dist, novel, len(buffer), stability, reseeded, last_train,
                mask, y_ref,
            )
            rec["space"] = space
            rec["growth_rejected"] = growth_rejected
            rec["seconds"] = round(time.perf_counter() - t0, 3)
            history.append(rec)
            prev_labels = pseudo
            done = epoch >= self.n_epochs and space == "head"
            if (
                not done
                and stability is not None
                and not grew
                and epoch >= self.min_epochs
                and stability >= self.stop_stability
            ):
                stopped, done = "stable", True
            if done:
                break
            if epoch >= self.n_epochs:  # n_epochs == 0: re-express the clusters in head space
                prev_labels = pseudo
                continue
            last_train = self._train_epoch(Xp, views_p, pseudo, k, rng, neighbors)
            epoch += 1
            report(progress, epoch, self.n_epochs)
            if ckpt is not None and epoch % self.checkpoint_every == 0:
                Zh = self._embed_pre(Xp)
                ch = _class_means(Zh, pseudo, k, None)
                dh = centroid_distances(Zh, ch)
                self._finish(Zh, ch, dh, novel_mask(dh, self.novelty_config), pseudo, history, epoch, stopped)
                self.save_checkpoint(ckpt, buffer=buffer.indices())
        self._finish(Z, centroids, dist, novel, pseudo, history, epoch, stopped)
        self.fit_seconds_ = time.perf_counter() - t_start
        report(progress, self.n_epochs, self.n_epochs)
        if ckpt is not None:
            self.save_checkpoint(ckpt, buffer=buffer.indices())
        return self

    def _finish(self, Z, centroids, dist, novel, labels, history, epoch, stopped) -> None:  # noqa: ANN001
        self.embedding_ = Z
        self.centroids_ = centroids
        self.labels_ = np.asarray(labels, dtype=np.int64)
        self.k_ = len(centroids)
        self.confidence_ = dist.confidence.astype(np.float32)
        self.novel_ = np.asarray(novel, dtype=bool)
        self.novelty_mu_ = float(dist.d_min.mean())
        self.novelty_sigma_ = float(dist.d_min.std())
        self.history_ = history
        self.n_epochs_ = epoch
        self.stopped_ = stopped

    def _record(
        self, epoch, k_before, k, Z, pseudo, dist, novel, buffer_len, stability, reseeded, last_train, mask, y_ref
    ) -> dict[str, Any]:  # noqa: ANN001
        import torch

        head_acc = None
        if Z.shape[1] == self.cluster_head_.in_dim:
            self.cluster_head_.eval()
            with torch.no_grad():
                head_pred = self.cluster_head_(torch.from_numpy(np.ascontiguousarray(Z))).argmax(1).numpy()
            head_acc = round(float((head_pred == pseudo).mean()), 5)
        sil = silhouette(Z, pseudo, sample_size=self.silhouette_sample, random_state=self.random_state)
        rec: dict[str, Any] = {
            "epoch": int(epoch),
            "k_before": int(k_before),
            "k_after": int(k),
            "silhouette": None if sil is None else round(sil, 5),
            "mean_confidence": round(float(dist.confidence.mean()), 5),
            "pseudo_label_acc": head_acc,
            "novel": int(novel.sum()),
            "buffer": int(buffer_len),
            "stability": None if stability is None else round(stability, 5),
            "reseeded": int(reseeded),
            "cluster_sizes": np.bincount(pseudo, minlength=k).astype(int).tolist(),
            "loss": round(last_train["loss"], 5) if last_train else None,
        }
        if mask is not None and mask.any():
            scores = label_scores(y_ref, pseudo[mask])
            rec.update({m: round(scores[m], 5) for m in ("acc", "nmi", "ari", "purity")})
            rec["f1"] = {c: round(v, 5) for c, v in scores["f1"].items()}
        return rec

    # -- checkpoints ----------------------------------------------------------------------------
    def save_checkpoint(self, path: str | Path, buffer: np.ndarray | None = None) -> Path:
        """Write everything needed to resume (or to assign new items) to ``path``."""
        import torch

        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        params = {p: v for p, v in self.get_params().items() if p != "checkpoint_path"}
        state = {
            "format": CHECKPOINT_FORMAT,
            "meta": json.dumps(
                {
                    "params": params,
                    "in_dim": int(self.projection_.in_dim),
                    "raw_dim": int(self.pre_mean_.shape[0]),
                    "n_items": int(len(self.labels_)),
                    "k": int(self.k_),
                    "epoch": int(self.n_epochs_),
                    "history": self.history_,
                    "novelty_mu": self.novelty_mu_,
                    "novelty_sigma": self.novelty_sigma_,
                    "stopped": self.stopped_,
                }
            ),
            "projection": self.projection_.state_dict(),
            "cluster_head": self.cluster_head_.state_dict(),
            "opt_proj": self._opt_proj.state_dict(),
            "opt_head": self._opt_head.state_dict(),
            "centroids": torch.from_numpy(np.ascontiguousarray(self.centroids_)),
            "labels": torch.from_numpy(self.labels_),
            "buffer": torch.from_numpy(np.asarray(buffer if buffer is not None else [], dtype=np.int64)),
            "pre_mean": torch.from_numpy(self.pre_mean_),
            "pre_scale": torch.from_numpy(self.pre_scale_),
            "pre_components": None if self.pre_components_ is None else torch.from_numpy(self.pre_components_),
        }
        buf = io.BytesIO()
        torch.save(state, buf)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(buf.getvalue())
        tmp.replace(path)
        return path

    @staticmethod
    def _read_checkpoint(path: Path) -> dict[str, Any]:
        import torch

        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            meta = json.loads(state["meta"])
            if state.get("format") != CHECKPOINT_FORMAT:
                raise CheckpointError(
                    f"checkpoint {path} has format {state.get('format')!r}, expected {CHECKPOINT_FORMAT}"
                )
        except CheckpointError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure to read is a corrupt file
            raise CheckpointError(f"checkpoint {path} is corrupt or not a clustering checkpoint: {exc}") from None
        state["meta"] = meta
        return state

    def _load_state(self, path: Path, N: int, D: int) -> dict[str, Any]:
        """Restore heads, optimisers and preprocessing from a checkpoint, checking shapes."""
        state = self._read_checkpoint(path)
        meta = state["meta"]
        if meta["raw_dim"] != D:
            raise CheckpointError(
                f"checkpoint {path} was trained on features of D={meta['raw_dim']}, these have D={D}"
            )
        if meta["n_items"] != N:
            raise CheckpointError(
                f"checkpoint {path} holds {meta['n_items']} items' labels, the features have N={N}"
            )
        self.pre_mean_ = state["pre_mean"].numpy()
        self.pre_scale_ = state["pre_scale"].numpy()
        comps = state["pre_components"]
        self.pre_components_ = None if comps is None else comps.numpy()
        self._build(meta["in_dim"], meta["k"])
        for name, module in (("projection", self.projection_), ("cluster_head", self.cluster_head_)):
            _load_module(path, name, module, state[name])
        try:
            self._opt_proj.load_state_dict(state["opt_proj"])
            self._opt_head.load_state_dict(state["opt_head"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(f"checkpoint {path}: optimiser state does not fit: {exc}") from None
        centroids = state["centroids"].numpy()
        if centroids.shape != (meta["k"], self.out_dim):
            raise CheckpointError(
                f"checkpoint {path}: centroids have shape {tuple(centroids.shape)}, expected {(meta['k'], self.out_dim)}"
            )
        return {
            "epoch": int(meta["epoch"]),
            "labels": state["labels"].numpy(),
            "centroids": centroids,
            "history": list(meta["history"]),
            "buffer": state["buffer"].numpy(),
        }

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> AdaptiveDeepCluster:
        """A fitted model (for ``transform`` / ``assign``) rebuilt from a checkpoint."""
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"no checkpoint at {path}")
        state = cls._read_checkpoint(path)
        meta = state["meta"]
        model = cls(**{k: v for k, v in meta["params"].items() if k in cls._PARAMS})
        model.pre_mean_ = state["pre_mean"].numpy()
        model.pre_scale_ = state["pre_scale"].numpy()
        comps = state["pre_components"]
        model.pre_components_ = None if comps is None else comps.numpy()
        model._build(meta["in_dim"], meta["k"])
        _load_module(path, "projection", model.projection_, state["projection"])
        _load_module(path, "cluster_head", model.cluster_head_, state["cluster_head"])
        model.centroids_ = state["centroids"].numpy()
        model.labels_ = state["labels"].numpy()
        model.k_ = int(meta["k"])
        model.history_ = list(meta["history"])
        model.n_epochs_ = int(meta["epoch"])
        model.novelty_mu_ = float(meta["novelty_mu"])
        model.novelty_sigma_ = float(meta["novelty_sigma"])
        model.stopped_ = meta.get("stopped", "")
        return model


def _load_module(path: Path, name: str, module: Any, saved: dict[str, Any]) -> None:
    """``load_state_dict`` with a :class:`CheckpointError` naming the first shape mismatch."""
    own = module.state_dict()
    missing = sorted(set(own) - set(saved))
    extra = sorted(set(saved) - set(own))
    if missing or extra:
        raise CheckpointError(f"checkpoint {path}: {name} parameters differ (missing {missing}, unexpected {extra})")
    for key, tensor in own.items():
        if tuple(saved[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"checkpoint {path}: {name}.{key} has shape {tuple(saved[key].shape)}, "
                f"the model needs {tuple(tensor.shape)}"
            )
    module.load_state_dict(saved)


def _with_labels(dist: Any, Z: np.ndarray, centroids: np.ndarray, labels: np.ndarray) -> Any:
    """``dist`` with ``nearest`` / ``d_min`` replaced by the given labels' centroids."""
    from core.novelty import Distances

    d_own = np.linalg.norm(Z - centroids[labels], axis=1).astype(np.float32)
    return Distances(np.asarray(labels, dtype=np.int64), d_own, np.maximum(dist.d_max, d_own))


def _class_means(Z: np.ndarray, labels: np.ndarray, k: int, fallback: np.ndarray | None) -> np.ndarray:
    """Unit-norm mean of each cluster's rows of ``Z`` (n, d) → (k, d); an empty cluster keeps
    its ``fallback`` row (or gets a random member's row)."""
    from scipy.sparse import csr_matrix

    labels = np.asarray(labels, dtype=np.int64)
    onehot = csr_matrix((np.ones(len(labels), np.float32), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    out = np.asarray(onehot @ Z, dtype=np.float64)
    sizes = np.bincount(labels, minlength=k)
    for j in np.flatnonzero(sizes == 0):
        out[j] = fallback[j] if fallback is not None and j < len(fallback) else Z[j % len(Z)]
    return _unit(out)


def _labelled(labels: Any, N: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(mask (N,) bool of labelled items, their labels as str) or (None, None)."""
    if labels is None:
        return None, None
    arr = np.asarray(labels, dtype=object)
    if arr.shape != (N,):
        raise InvalidInputError(f"labels must have shape ({N},), got {arr.shape}")
    import pandas as pd

    mask = np.array([not pd.isna(v) and str(v) != "" for v in arr], dtype=bool)
    if not mask.any():
        return None, None
    return mask, np.array([str(v) for v in arr[mask]])
