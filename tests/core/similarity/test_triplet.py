"""The fast in-batch semi-hard mining against a slow reference written with plain loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.similarity.triplet import semi_hard_triplet_loss


def reference_loss(z: np.ndarray, labels: np.ndarray, margin: float) -> tuple[float, int, int]:
    """Plain-loop semi-hard triplet loss: (mean loss, n_pairs, n_active)."""
    b = len(z)

    def d(i: int, j: int) -> float:
        cos = sum(float(z[i, t]) * float(z[j, t]) for t in range(z.shape[1]))
        return min(max(1.0 - cos, 0.0), 2.0)

    losses = []
    for a in range(b):
        negatives = [n for n in range(b) if labels[n] != labels[a]]
        if not negatives:
            continue
        for p in range(b):
            if p == a or labels[p] != labels[a]:
                continue
            dap = d(a, p)
            farther = [d(a, n) for n in negatives if d(a, n) > dap]
            dan = min(farther) if farther else max(d(a, n) for n in negatives)
            losses.append(max(dap - dan + margin, 0.0))
    if not losses:
        return 0.0, 0, 0
    return sum(losses) / len(losses), len(losses), sum(1 for x in losses if x > 0)


def _batch(seed: int, b: int, d: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(b, d))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    labels = rng.integers(0, n_classes, size=b)
    return z.astype(np.float64), labels


@pytest.mark.parametrize("seed,b,d,n_classes,margin", [
    (0, 12, 4, 3, 0.2), (1, 20, 8, 5, 0.5), (2, 9, 3, 2, 0.05), (3, 16, 2, 8, 1.0),
])
def test_fast_matches_slow_reference(seed: int, b: int, d: int, n_classes: int, margin: float) -> None:
    z, labels = _batch(seed, b, d, n_classes)
    loss, stats = semi_hard_triplet_loss(torch.from_numpy(z), torch.from_numpy(labels), margin)
    ref_loss, ref_pairs, ref_active = reference_loss(z, labels, margin)
    assert stats.n_pairs == ref_pairs
    assert stats.n_active == ref_active
    assert math.isclose(float(loss), ref_loss, rel_tol=1e-9, abs_tol=1e-12)


def test_falls_back_to_farthest_negative_when_none_is_semi_hard() -> None:
    # anchor 0 and positive 1 are far apart; both negatives are closer than the positive.
    z = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.1], [0.9, -0.3]])
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    labels = np.array([0, 0, 1, 1])
    loss, stats = semi_hard_triplet_loss(torch.from_numpy(z), torch.from_numpy(labels), 0.1)
    ref_loss, ref_pairs, ref_active = reference_loss(z, labels, 0.1)
    assert (stats.n_pairs, stats.n_active) == (ref_pairs, ref_active)
    assert math.isclose(float(loss), ref_loss, rel_tol=1e-9)


def test_batch_without_pairs_gives_zero_loss_with_gradient() -> None:
    z = torch.nn.functional.normalize(torch.randn(5, 3, dtype=torch.float64), dim=1).requires_grad_()
    loss, stats = semi_hard_triplet_loss(z, torch.arange(5), 0.2)
    assert stats.n_pairs == 0 and float(loss.detach()) == 0.0
    loss.backward()
    assert z.grad is not None


def test_gradient_pulls_positive_closer() -> None:
    z0, labels = _batch(4, 10, 6, 3)
    z = torch.from_numpy(z0).requires_grad_()
    loss, stats = semi_hard_triplet_loss(z, torch.from_numpy(labels), 0.5)
    assert stats.n_active > 0
    loss.backward()
    with torch.no_grad():
        z2 = torch.nn.functional.normalize(z - 0.05 * z.grad, dim=1)
    loss2, _ = semi_hard_triplet_loss(z2, torch.from_numpy(labels), 0.5)
    assert float(loss2) < float(loss)
