"""Similarity: a triplet-tuned embedding head, its Annoy index and directions, and query by image.

config → method → results, as in FiftyOne Brain: :class:`SimilarityConfig` says how the
artifact is built, :func:`train_similarity` builds ``similarity/<run_id>``, and the
:class:`SimilarityArtifact` that :func:`load_similarity` / :func:`loaded` return owns its
:meth:`~SimilarityArtifact.search`.

Modules: ``config`` (SimilarityConfig, the one source of its defaults), ``triplet`` (the
loss), ``head`` (the MLP), ``sampling`` (validation split, training pairs), ``estimator``
(TripletEmbedder), ``retrieval`` (metrics, exact top-k), ``index`` (Annoy), ``directions``,
``step`` (the pipeline step), ``artifact`` (the loaded artifact and its search), ``placement``
(a query's cluster), ``query`` (query by image / URL / item).

Names are re-exported lazily, so ``from core.similarity import SimilarityConfig`` loads
neither torch nor annoy (code inside the project imports from the modules, which type-checks).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "GROUP_COLUMNS": "config", "SHIPPED_DIRECTIONS": "config", "SimilarityConfig": "config",
    "TripletStats": "triplet", "semi_hard_triplet_loss": "triplet",
    "SimilarityHead": "head",
    "TripletEmbedder": "estimator",
    "exact_topk": "retrieval", "l2_normalise": "retrieval", "label_precision_at_k": "retrieval",
    "partner_topk_accuracy": "retrieval", "retrieval_metrics": "retrieval",
    "AnnIndex": "index", "IndexParams": "index", "build_measured": "index", "choose_params": "index",
    "measure_recall": "index",
    "Direction": "directions", "MIN_EXAMPLES": "directions", "from_attribute": "directions",
    "from_examples": "directions", "from_principal_component": "directions", "shift": "directions",
    "train_similarity": "step",
    "Hit": "artifact", "SimilarityArtifact": "artifact", "artifact_name": "artifact",
    "load_similarity": "artifact", "loaded": "artifact",
    "QueryResult": "query", "build_direction": "query", "list_directions": "query", "parse_shift": "query",
    "similar": "query", "warm_up": "query",
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
