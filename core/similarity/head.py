"""SimilarityHead: the small MLP that maps frozen backbone features to unit embeddings."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SimilarityHead"]


class SimilarityHead(nn.Module):
    """Standardise, MLP plus a linear skip, L2-normalise: (B, in_dim) -> (B, out_dim) unit vectors.

    ``mean`` and ``scale`` are buffers (saved with the weights) that the estimator sets from
    the training features before the first step.
    """

    mean: torch.Tensor
    scale: torch.Tensor

    def __init__(self, in_dim: int, out_dim: int, hidden_dim: int, dropout: float) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("scale", torch.ones(in_dim))
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden_dim, out_dim)
        )
        self.skip = nn.Linear(in_dim, out_dim, bias=False)

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) features -> (B, in_dim) standardised by the training mean and scale."""
        return (x - self.mean) / self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) float features -> (B, out_dim) L2-normalised embeddings."""
        h = self.standardise(x)
        return nn.functional.normalize(self.net(h) + self.skip(h), dim=-1)
