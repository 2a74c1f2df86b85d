"""One training epoch of the heads: cross-entropy on pseudo-labels, plus neighbour consistency.

Each sample is drawn from the cached features of the original or of one of its augmented views;
``balance`` keeps one pseudo-class from dominating the epoch.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def sample_order(pseudo: np.ndarray, k: int, rng: np.random.Generator, balance: str) -> tuple[np.ndarray, Any]:
    """The epoch's N sample indices and the loss's class weights (a (k,) tensor or None).

    ``"sample"`` draws pseudo-classes uniformly, then a member of each; ``"weight"`` shuffles
    and weighs classes by inverse frequency; ``"none"`` shuffles.
    """
    N = len(pseudo)
    sizes = np.bincount(pseudo, minlength=k)
    if balance == "sample":
        present = np.flatnonzero(sizes)
        by_class = [np.flatnonzero(pseudo == c) for c in present]
        classes = rng.integers(0, len(present), size=N)
        order = np.empty(N, np.int64)
        for ci, members in enumerate(by_class):
            sel = classes == ci
            order[sel] = members[rng.integers(0, len(members), size=int(sel.sum()))]
        return order, None
    order = rng.permutation(N)
    if balance != "weight":
        return order, None
    import torch

    w = np.where(sizes > 0, N / (k * np.maximum(sizes, 1)), 0.0)
    return order, torch.as_tensor(w, dtype=torch.float32)


def draw(Xp: np.ndarray, views_p: np.ndarray | None, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows ``idx`` of the original features ``Xp`` (N, D') or of a random augmented view each
    (``views_p`` (N, V, D')), as a contiguous float32 (len(idx), D') batch."""
    if views_p is None or not views_p.shape[1]:
        return np.ascontiguousarray(Xp[idx])
    n_views = views_p.shape[1]
    which = rng.integers(0, n_views + 1, size=len(idx))
    x = np.array(Xp[idx], dtype=np.float32)
    use_view = which > 0
    if use_view.any():
        x[use_view] = views_p[idx[use_view], which[use_view] - 1]
    return x


def nearest_neighbors(Xp: np.ndarray, n_neighbors: int) -> np.ndarray:
    """(N, n_neighbors) nearest neighbours by cosine of each row of ``Xp`` (N, D'), self excluded."""
    from sklearn import config_context
    from sklearn.neighbors import NearestNeighbors

    n = min(n_neighbors + 1, len(Xp))
    nn = NearestNeighbors(n_neighbors=n, metric="cosine").fit(Xp)
    # distance blocks of at most 128 MiB (sklearn's default is 1 GiB): at 50,000 items the
    # search was the loop's peak of memory
    with config_context(working_memory=128):
        idx = nn.kneighbors(Xp, return_distance=False)
    return idx[:, 1:]


def train_epoch(
    projection: Any,
    cluster_head: Any,
    optimizers: tuple[Any, Any],
    Xp: np.ndarray,
    views_p: np.ndarray | None,
    pseudo: np.ndarray,
    k: int,
    rng: np.random.Generator,
    neighbors: np.ndarray | None,
    *,
    balance: str,
    batch_size: int,
    neighbor_weight: float,
) -> dict[str, float]:
    """One epoch of both heads on pseudo-labels ``pseudo`` (N,) in 0..k-1.

    ``Xp`` (N, D') preprocessed features, ``views_p`` (N, V, D') or None, ``neighbors``
    (N, n) from :func:`nearest_neighbors` or None; ``optimizers``: (projection's, cluster
    head's). Returns ``{"loss", "train_acc"}``, means over the batches.
    """
    import torch
    from torch.nn import functional as F

    order, weight = sample_order(pseudo, k, rng, balance)
    projection.train()
    cluster_head.train()
    tot_loss = tot_correct = 0.0
    n_batches = 0
    for s in range(0, len(Xp) - 1, batch_size):
        idx = order[s : s + batch_size]
        if len(idx) < 2:  # BatchNorm needs two samples
            continue
        x = draw(Xp, views_p, idx, rng)
        y = torch.from_numpy(pseudo[idx])
        logits = cluster_head(projection(torch.from_numpy(x)))
        loss = F.cross_entropy(logits, y, weight=weight)
        if neighbors is not None and neighbor_weight > 0:
            nb = neighbors[idx, rng.integers(0, neighbors.shape[1], size=len(idx))]
            logits_n = cluster_head(projection(torch.from_numpy(draw(Xp, views_p, nb, rng))))
            p, q = logits.softmax(1), logits_n.softmax(1)
            loss = loss - neighbor_weight * torch.log((p * q).sum(1).clamp_min(1e-8)).mean()
        for opt in optimizers:
            opt.zero_grad()
        loss.backward()
        for opt in optimizers:
            opt.step()
        tot_loss += float(loss.detach())
        tot_correct += float((logits.detach().argmax(1) == y).float().mean())
        n_batches += 1
    return {"loss": tot_loss / max(n_batches, 1), "train_acc": tot_correct / max(n_batches, 1)}
