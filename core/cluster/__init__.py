"""Clustering: adaptive DeepCluster on frozen-backbone features, and its pipeline step.

Where things live: ``config`` (ClusterConfig, the one place defaults live), ``estimator``
(AdaptiveDeepCluster), ``preprocess``, ``pseudo_labels``, ``epoch``, ``novelty`` (with the
growth guard), ``distances``, ``equipartition``, ``heads`` (torch modules; imported lazily),
``checkpoint``, ``history``, ``state`` (what a fit carries between epochs), ``validation``,
``naming``; the pipeline step is ``step`` (run and write), ``result`` (read back), ``assign``
(place new images), ``baseline`` (plain k-means).
"""

from core.cluster.assign import Assignment, assign_features, assign_image
from core.cluster.config import AUTO_PCA_DIM, ClusterConfig, effective_config
from core.cluster.estimator import AdaptiveDeepCluster
from core.cluster.history import HISTORY_COLUMNS
from core.cluster.naming import ClusterName, name_clusters, representatives
from core.cluster.novelty import NoveltyBuffer, NoveltyConfig, novel_mask
from core.cluster.result import ClusterResult, artifact_name, list_clusterings, load_clustering, require_clustering
from core.cluster.step import cluster_workspace

__all__ = [
    "AUTO_PCA_DIM",
    "HISTORY_COLUMNS",
    "AdaptiveDeepCluster",
    "Assignment",
    "ClusterConfig",
    "ClusterName",
    "ClusterResult",
    "NoveltyBuffer",
    "NoveltyConfig",
    "artifact_name",
    "assign_features",
    "assign_image",
    "cluster_workspace",
    "effective_config",
    "list_clusterings",
    "load_clustering",
    "novel_mask",
    "representatives",
    "name_clusters",
    "require_clustering",
]
