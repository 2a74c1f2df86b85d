"""``FitState``: what one ``AdaptiveDeepCluster.fit`` carries from epoch to epoch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.cluster.novelty import NoveltyBuffer


@dataclass
class FitState:
    """What one ``fit`` carries from epoch to epoch."""

    epoch: int
    buffer: NoveltyBuffer
    prev_labels: np.ndarray | None = None
    centroids: np.ndarray | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    start_epoch: int = 0
    stopped: str = "max_epochs"
    last_train: dict[str, float] = field(default_factory=dict)
    split_tests: list[dict[str, Any]] = field(default_factory=list)  # this epoch's (kselect.SplitTest.record)

    @property
    def labels(self) -> np.ndarray:
        """(N,) the current pseudo-labels (there are some once the first assignment ran)."""
        assert self.prev_labels is not None
        return self.prev_labels

    @property
    def current_centroids(self) -> np.ndarray:
        """(k, d) the current centroids (there are some once the first assignment ran)."""
        assert self.centroids is not None
        return self.centroids
