"""Pseudo-labels of the DeepCluster loop: k-means, the first UMAP labels, re-seeding, class means.

Module-level functions on prepared input (unit rows ``Z`` (N, d), validated parameters); the
estimator decides when each one runs.
"""

from __future__ import annotations

import numpy as np

from core.cluster.distances import centroid_distances, unit
from core.cluster.equipartition import balanced_centroids

# balanced refinement rounds after a cold k-means, and after a warm-started one (its centroids
# are already balanced from the previous epoch)
EQUIPARTITION_ROUNDS = (50, 5)


def kmeans(
    Z: np.ndarray,
    k: int,
    init: np.ndarray | None,
    seed: int,
    *,
    batch_size: int,
    max_iter: int,
    equipartition: bool,
) -> np.ndarray:
    """Centroids (k, d), unit-norm, by MiniBatchKMeans on ``Z`` (N, d), warm-started from
    ``init`` (k, d) when given; with ``equipartition``, refined to equal cluster sizes."""
    from sklearn.cluster import MiniBatchKMeans
    from threadpoolctl import threadpool_limits

    km = MiniBatchKMeans(
        n_clusters=k,
        init=init if init is not None else "k-means++",
        n_init=1 if init is not None else 3,
        batch_size=min(batch_size, len(Z)),
        max_iter=max_iter,
        random_state=seed,
        reassignment_ratio=0.0,
        compute_labels=False,
    )
    # mini-batch steps are small: one thread is as fast unloaded and far faster on busy cores
    with threadpool_limits(limits=1):
        km.fit(Z)
    centroids = unit(km.cluster_centers_)
    if equipartition:
        rounds = EQUIPARTITION_ROUNDS[0 if init is None else 1]
        centroids = balanced_centroids(Z, centroids, n_rounds=rounds)
    return centroids


def reseed_empty(Z: np.ndarray, centroids: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Give every empty cluster the member of the largest cluster farthest from its centroid.

    Returns the centroids (k, d), the labels (N,) after re-seeding and how many were re-seeded.
    """
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


def umap_labels(Z: np.ndarray, k: int, seed: int, *, n_components: int, n_neighbors: int) -> np.ndarray:
    """(N,) k-means labels of an ``n_components``-d UMAP embedding of ``Z`` (N, d), N2D-style
    (of the PCA-50 of ``Z`` when it is wider, cosine metric)."""
    import umap
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    P = PCA(min(50, Z.shape[1], len(Z) - 1), random_state=seed).fit_transform(Z) if Z.shape[1] > 50 else Z
    U = umap.UMAP(
        n_components=n_components, n_neighbors=min(n_neighbors, len(Z) - 1), min_dist=0.0,
        metric="cosine", random_state=seed,
    ).fit_transform(P)
    return KMeans(n_clusters=k, n_init=5, random_state=seed).fit_predict(U).astype(np.int64)


def class_means(Z: np.ndarray, labels: np.ndarray, k: int, fallback: np.ndarray | None) -> np.ndarray:
    """Unit-norm mean of each cluster's rows of ``Z`` (n, d) → (k, d); an empty cluster keeps
    its ``fallback`` row (or gets a random member's row)."""
    from scipy.sparse import csr_matrix

    labels = np.asarray(labels, dtype=np.int64)
    onehot = csr_matrix((np.ones(len(labels), np.float32), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    out = np.asarray(onehot @ Z, dtype=np.float64)
    sizes = np.bincount(labels, minlength=k)
    for j in np.flatnonzero(sizes == 0):
        out[j] = fallback[j] if fallback is not None and j < len(fallback) else Z[j % len(Z)]
    return unit(out)
