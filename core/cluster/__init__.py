"""Clustering: adaptive DeepCluster on frozen-backbone features, and its pipeline step.

Where things live: ``config`` (ClusterConfig, the one place defaults live), ``estimator``
(AdaptiveDeepCluster), ``preprocess``, ``pseudo_labels``, ``epoch``, ``novelty`` (with the
growth guard), ``distances``, ``equipartition``, ``heads`` (torch modules; imported lazily),
``checkpoint``, ``history``, ``state`` (what a fit carries between epochs), ``validation``,
``naming``; the pipeline step is ``step`` (run and write), ``result`` (read back), ``assign``
(place new images), ``baseline`` (plain k-means).

Names are re-exported lazily (as in :mod:`core.similarity`), so importing a light module such as
``core.cluster.result`` or ``core.cluster.novelty`` loads neither scikit-learn nor torch: the
web process reads clusterings and places queries without them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Assignment": "assign", "assign_features": "assign", "assign_image": "assign",
    "AUTO_PCA_DIM": "config", "ClusterConfig": "config", "effective_config": "config",
    "AdaptiveDeepCluster": "estimator",
    "HISTORY_COLUMNS": "history",
    "ClusterName": "naming", "name_clusters": "naming", "representatives": "naming",
    "NoveltyBuffer": "novelty", "NoveltyConfig": "novelty", "novel_mask": "novelty",
    "ClusterResult": "result", "artifact_name": "result", "list_clusterings": "result",
    "load_clustering": "result", "require_clustering": "result",
    "cluster_workspace": "step",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
