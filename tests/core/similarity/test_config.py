"""SimilarityConfig is the one source of the similarity defaults: the estimator agrees with it."""

from __future__ import annotations

from dataclasses import asdict, replace

from core.similarity.config import SimilarityConfig
from core.similarity.estimator import TripletEmbedder


def test_estimator_defaults_are_the_config_defaults() -> None:
    config = asdict(SimilarityConfig())
    params = TripletEmbedder().get_params()
    assert set(params) <= set(config), "every estimator hyperparameter is a config field"
    assert params == {name: config[name] for name in params}


def test_from_config_passes_every_hyperparameter() -> None:
    changed = {"out_dim": 8, "hidden_dim": 16, "margin": 0.3, "epochs": 2, "lr": 5e-3, "weight_decay": 0.5,
               "batch_size": 16, "dropout": 0.05, "group_prob": 0.25, "validation_fraction": 0.2,
               "label_positives": False, "instance_weight": 2.0, "structure_weight": 1.5, "random_state": 7}
    assert set(changed) == set(TripletEmbedder().get_params())
    defaults = SimilarityConfig()
    assert all(getattr(defaults, k) != v for k, v in changed.items())  # each value is a real change
    assert TripletEmbedder.from_config(replace(defaults, **changed)).get_params() == changed
