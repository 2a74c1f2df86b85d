"""Trainable heads on frozen backbone features.

``ProjectionHead``: (N, D) -> (N, 256) L2-normalised embedding.
``ClusterHead``: (N, 256) -> (N, k) logits, resizable when k grows.
``embed`` and ``head_accuracy`` run them in eval mode on numpy arrays.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from core.errors import InvalidInputError


class ProjectionHead(nn.Module):
    """Linear(D→hidden) + BN + ReLU + Dropout → Linear(hidden→out) + BN + ReLU, L2-normalised.

    Parameters
    ----------
    in_dim : feature dimension D of the backbone.
    hidden_dim : width of the hidden layer (512).
    out_dim : embedding dimension (256).
    dropout : dropout probability after the first block.
    """

    def __init__(self, in_dim: int, hidden_dim: int = 512, out_dim: int = 256, dropout: float = 0.2):
        super().__init__()
        if in_dim < 1 or hidden_dim < 1 or out_dim < 1:
            raise InvalidInputError(f"head dimensions must be >= 1, got {in_dim}, {hidden_dim}, {out_dim}")
        if not 0.0 <= dropout < 1.0:
            raise InvalidInputError(f"dropout must be in [0, 1), got {dropout}")
        self.in_dim, self.hidden_dim, self.out_dim = in_dim, hidden_dim, out_dim
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, out_dim),
            nn.BatchNorm1d(out_dim),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) float32 -> (B, out_dim), each row of unit L2 norm."""
        return F.normalize(self.net(x), dim=1, eps=1e-8)


class ClusterHead(nn.Module):
    """Linear(in_dim → k) classifier over pseudo-labels.

    ``resize(k)`` grows (or shrinks) the output, keeping the rows already learned.
    """

    def __init__(self, in_dim: int = 256, k: int = 10):
        super().__init__()
        if k < 1:
            raise InvalidInputError(f"k must be >= 1, got {k}")
        self.in_dim = in_dim
        self.fc = nn.Linear(in_dim, k)

    @property
    def k(self) -> int:
        """Current number of outputs."""
        return self.fc.out_features

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, in_dim) -> (B, k) logits."""
        return self.fc(z)

    @torch.no_grad()
    def resize(self, k: int, init_rows: torch.Tensor | None = None) -> None:
        """Change the number of clusters to ``k``.

        Rows ``0..min(old_k, k)-1`` keep their learned weights and biases. New rows are
        ``init_rows`` ((k - old_k, in_dim), e.g. the new centroids) when given, otherwise the
        default ``nn.Linear`` initialisation; new biases start at 0.
        """
        if k < 1:
            raise InvalidInputError(f"k must be >= 1, got {k}")
        old = self.fc
        new = nn.Linear(self.in_dim, k).to(old.weight.device, old.weight.dtype)
        keep = min(old.out_features, k)
        new.weight[:keep] = old.weight[:keep]
        new.bias[:keep] = old.bias[:keep]
        if k > old.out_features:
            new.bias[keep:] = 0.0
            if init_rows is not None:
                rows = torch.as_tensor(init_rows, dtype=new.weight.dtype)
                if rows.shape != (k - keep, self.in_dim):
                    raise InvalidInputError(
                        f"init_rows must have shape {(k - keep, self.in_dim)}, got {tuple(rows.shape)}"
                    )
                new.weight[keep:] = rows
        self.fc = new


@torch.no_grad()
def embed(projection: ProjectionHead, Xp: np.ndarray, batch: int = 8192) -> np.ndarray:
    """Preprocessed features (n, D') → head embeddings (n, out_dim) float32, in eval mode."""
    projection.eval()
    out = np.empty((len(Xp), projection.out_dim), np.float32)
    for s in range(0, len(Xp), batch):
        out[s : s + batch] = projection(torch.from_numpy(np.ascontiguousarray(Xp[s : s + batch]))).numpy()
    return out


@torch.no_grad()
def head_accuracy(cluster_head: ClusterHead, Z: np.ndarray, pseudo: np.ndarray) -> float | None:
    """Share of rows of ``Z`` (N, in_dim) whose cluster-head argmax is their pseudo-label (N,);
    None when ``Z`` is not in the head's input space (the first, feature-space epoch)."""
    if Z.shape[1] != cluster_head.in_dim:
        return None
    cluster_head.eval()
    pred = cluster_head(torch.from_numpy(np.ascontiguousarray(Z))).argmax(1).numpy()
    return float((pred == pseudo).mean())
