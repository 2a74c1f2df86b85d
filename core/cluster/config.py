"""``ClusterConfig``: every setting of a clustering run and the one place its defaults live.

The estimator's signature takes its defaults from here, and the CLI builds its options from
these fields; ``tests/core/cluster/test_defaults.py`` fails when a copy disagrees.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from core.embed.spec import CLUSTER_BACKBONE

# fields that describe the run around the estimator, not the estimator itself
RUN_FIELDS = ("backbone", "use_views", "n_representatives", "baseline")

# Above this many bytes of head inputs (items × (1 + views) × dims × 4), features are
# PCA-projected to AUTO_PCA_DIM dims (no whitening) first: a 50,000-item catalog's 2×2-grid
# features with 2 views are 3 GiB, and the loop holds a preprocessed copy. On Fashion-MNIST,
# PCA-512 clusters as well as the full 5120 dims (ACC 0.765 vs 0.768); on the small demo at
# k = 10 it costs 0.02 NMI, hence only where memory demands it.
AUTO_PCA_BYTES = 1 << 31
AUTO_PCA_DIM = 512


@dataclass(frozen=True)
class ClusterConfig:
    """Configuration of a clustering run (the pipeline's defaults).

    backbone : features to cluster (``features/<backbone>``).
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
        :mod:`core.cluster.equipartition`) so that no cluster swallows several categories. A
        prior for catalogs whose categories are of similar size.
    pca_dim : reduce (and whiten, if ``whiten``) the features with PCA before the head; None:
        no PCA (the pipeline still switches it on for large inputs, :func:`effective_config`).
    neighbor_weight : weight of a neighbour-consistency term (an item and its nearest
        neighbours in feature space should get the same cluster); 0 disables it.
    n_neighbors : neighbours used by that term.
    init_umap : when set, the first pseudo-labels come from k-means on a UMAP embedding of
        this many dimensions (of the PCA-50 of the features, cosine, ``umap_neighbors``), as in
        N2D; later epochs re-cluster in the head's space as usual. None: k-means on the features.
    n_sigma, min_confidence, novelty_buffer : the novelty test (see :mod:`core.cluster.novelty`).
    k_select : what backs a growth of k once the novelty buffer is full: "split" (the held-out
        split test of :mod:`core.cluster.kselect` on the clusters holding the novel samples) or
        "guard" (a seed from the novel samples, kept when nearer them than their clusters).
    split_alpha : the split test's level: a split passes above the null's 1 - alpha quantile.
    kmeans_batch_size, kmeans_max_iter : MiniBatchKMeans settings.
    silhouette_sample : items sampled for the silhouette.
    checkpoint_every, resume : save every N epochs and at the end; with ``resume`` a run
        continues from its checkpoint when one exists.
    use_views : train on the augmented views' features too, where the features have them.
    n_representatives : items shown per cluster.
    baseline : also score plain k-means (same k) for comparison.
    random_state : seed of every random step.
    """

    backbone: str = CLUSTER_BACKBONE
    k_init: int = 10
    k_max: int = 25
    n_epochs: int = 30
    min_epochs: int = 10
    reassign_every: int = 1
    stop_stability: float = 0.95
    lr: float = 1e-3  # 1e-4 barely moves the head in 30 short epochs (see the closing note)
    weight_decay: float = 1e-5
    batch_size: int = 256
    hidden_dim: int = 512
    out_dim: int = 256
    dropout: float = 0.2
    balance: str = "sample"
    equipartition: bool = False
    pca_dim: int | None = None  # None: PCA only when the head's inputs would be too big (see above)
    whiten: bool = True
    neighbor_weight: float = 1.0
    n_neighbors: int = 10
    init_umap: int | None = 10  # first pseudo-labels from k-means on a 10-d UMAP (N2D): +0.01 NMI on the demo
    umap_neighbors: int = 30
    n_sigma: float = 2.0
    min_confidence: float = 0.6
    novelty_buffer: int = 80
    k_select: Literal["split", "guard"] = "split"
    split_alpha: float = 0.01
    kmeans_batch_size: int = 4096
    kmeans_max_iter: int = 20
    silhouette_sample: int = 2000
    checkpoint_every: int = 5
    resume: bool = True
    use_views: bool = True
    n_representatives: int = 8
    baseline: bool = True
    random_state: int = 0

    def estimator_params(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~core.cluster.estimator.AdaptiveDeepCluster` (all but
        ``checkpoint_path``, which the run chooses)."""
        return {k: v for k, v in asdict(self).items() if k not in RUN_FIELDS}


def effective_config(cfg: ClusterConfig, n_items: int, n_views: int, dim: int) -> ClusterConfig:
    """The configuration a run really uses: ``cfg``, with PCA switched on for large inputs."""
    if cfg.pca_dim is None and n_items * (1 + n_views) * dim * 4 > AUTO_PCA_BYTES:
        return replace(cfg, pca_dim=AUTO_PCA_DIM, whiten=False)
    return cfg
