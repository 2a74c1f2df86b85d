"""SimilarityConfig: how a similarity artifact is built; the one place its defaults live.

The estimator (:class:`core.similarity.estimator.TripletEmbedder`) takes its keyword defaults
from here and the CLI builds its options from these fields, so a default is changed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from core.embed.spec import DEFAULT_BACKBONE

__all__ = ["GROUP_COLUMNS", "SERVE_CHOICES", "SHIPPED_DIRECTIONS", "SimilarityConfig"]

Serve = Literal["auto", "tuned", "frozen"]
SERVE_CHOICES: tuple[str, ...] = get_args(Serve)

SHIPPED_DIRECTIONS = Path(__file__).resolve().parents[2] / "data" / "demo" / "directions.json"
GROUP_COLUMNS = ("group_id", "product_id", "pair_id", "style_id")
"""Catalog columns recognised as an item-id-like group key (items sharing one are positives)."""


@dataclass(frozen=True)
class SimilarityConfig:
    """How the similarity artifact is built (written into the manifest).

    The fields from ``out_dim`` to ``random_state`` are the hyperparameters of
    :class:`~core.similarity.estimator.TripletEmbedder` (see its docstring); the rest choose the
    features, the group column, the index settings and the shipped direction example sets.
    """

    backbone: str = DEFAULT_BACKBONE
    out_dim: int = 64
    hidden_dim: int = 512
    margin: float = 0.2
    epochs: int = 20
    lr: float = 1e-3
    weight_decay: float = 1e-2
    batch_size: int = 256
    dropout: float = 0.3
    group_prob: float = 0.5  # chance that an item's positive is a group partner rather than a view
    validation_fraction: float = 0.1
    label_positives: bool = True  # items sharing a catalog label are positives too (see module doc)
    instance_weight: float = 1.0  # item-level (views / groups) term next to the label term
    structure_weight: float = 20.0  # keep frozen similarity structure (patterns: directions need it)
    random_state: int = 0
    group_column: str | None = None  # None: the first of GROUP_COLUMNS present in the catalog
    target_recall: float = 0.98
    n_trees: int | None = None  # None (with search_k None): chosen by measurement
    search_k: int | None = None
    shipped_directions: str | None = str(SHIPPED_DIRECTIONS)  # example sets file, or None
    # directions from examples add each example's cached augmented views to its side's mean. Off
    # until bench/bench_steering.py shows it helps on a real catalog (it does on a planted one:
    # tests/core/similarity/test_directions.py); the run of this session did not finish
    direction_views: bool = False
    serve: Serve = "auto"  # served space: "auto" (tuned only where it beats frozen), "tuned" or "frozen"
    # the frozen-vs-tuned evaluation's queries: at most this many (a seeded sample), as exact
    # search costs queries x catalog (all 200,000 items as queries: hours; 5,000: seconds)
    max_eval_queries: int = 5_000
