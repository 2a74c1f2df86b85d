"""Semi-hard triplet loss with in-batch mining on cosine distance.

For every anchor-positive pair ``(a, p)`` in a batch (same label, ``a != p``) the negative is
the *semi-hard* one: the closest negative that is still farther from the anchor than the
positive (``d(a, n) > d(a, p)``). When no negative is farther, the farthest negative is used
(as in FaceNet / TensorFlow Addons), so an anchor never collapses onto its hardest negative
early in training. The loss is ``mean(relu(d(a, p) - d(a, n) + margin))`` over all pairs.

Distances are cosine distances ``1 - cos(x, y)`` in ``[0, 2]`` between L2-normalised rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TripletStats:
    """What one batch contributed: pairs considered and pairs with a non-zero loss."""

    n_pairs: int
    n_active: int


def cosine_distance_matrix(z: torch.Tensor) -> torch.Tensor:
    """Pairwise cosine distances.

    Parameters
    ----------
    z : (B, d) tensor, rows L2-normalised.

    Returns
    -------
    (B, B) tensor, ``1 - z @ z.T`` clamped to ``[0, 2]``.
    """
    return (1.0 - z @ z.T).clamp(0.0, 2.0)


def semi_hard_negatives(dist: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick the semi-hard negative distance for every anchor-positive pair.

    Parameters
    ----------
    dist : (B, B) pairwise distances.
    labels : (B,) integer labels; equal labels are positives.

    Returns
    -------
    neg_dist : (B, B) distance ``d(a, n*)`` of the negative chosen for pair ``(a, p)``
        (differentiable: gathered from ``dist``).
    pair_mask : (B, B) bool, True where ``(a, p)`` is a valid anchor-positive pair whose anchor
        has at least one negative.
    """
    b = dist.shape[0]
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(b, dtype=torch.bool, device=dist.device)
    neg_mask = ~same
    n_neg = neg_mask.sum(dim=1)  # (B,)
    pair_mask = same & ~eye & (n_neg > 0)[:, None]

    # Each anchor's negative distances sorted ascending; non-negatives pushed to the end (+inf).
    big = torch.finfo(dist.dtype).max
    masked = torch.where(neg_mask, dist.detach(), torch.full_like(dist, big))
    sorted_d, order = torch.sort(masked, dim=1)
    # First negative strictly farther than the positive: searchsorted with right=True.
    pos_d = dist.detach().contiguous()
    idx = torch.searchsorted(sorted_d.contiguous(), pos_d, right=True)  # (B, B)
    has_semi = idx < n_neg[:, None]
    last = (n_neg - 1).clamp(min=0)[:, None].expand(b, b)  # farthest negative
    chosen_rank = torch.where(has_semi, idx, last).clamp(max=b - 1)
    neg_col = torch.gather(order, 1, chosen_rank)  # (B, B) column index of chosen negative
    neg_dist = torch.gather(dist, 1, neg_col)
    return neg_dist, pair_mask


def semi_hard_triplet_loss(
    z: torch.Tensor, labels: torch.Tensor, margin: float = 0.2
) -> tuple[torch.Tensor, TripletStats]:
    """Semi-hard triplet loss over all anchor-positive pairs of a batch.

    Parameters
    ----------
    z : (B, d) tensor of L2-normalised embeddings.
    labels : (B,) integer tensor; rows with equal labels are positives of each other.
    margin : float, margin on the cosine distance.

    Returns
    -------
    loss : scalar tensor (0 with a gradient path when the batch holds no valid pair).
    stats : TripletStats, the number of pairs and of active (loss > 0) pairs.
    """
    dist = cosine_distance_matrix(z)
    neg_dist, pair_mask = semi_hard_negatives(dist, labels)
    per_pair = torch.relu(dist - neg_dist + margin)
    n_pairs = int(pair_mask.sum())
    if n_pairs == 0:
        return z.sum() * 0.0, TripletStats(0, 0)
    losses = per_pair[pair_mask]
    return losses.mean(), TripletStats(n_pairs, int((losses > 0).sum()))
