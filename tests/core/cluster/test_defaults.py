"""One source of every clustering default: the estimator's signature agrees with ClusterConfig."""

import dataclasses
import inspect

from core.cluster import AdaptiveDeepCluster, ClusterConfig
from core.cluster.config import RUN_FIELDS

# chosen by the run (the step keys it by config and input), not a setting
RUN_ONLY_PARAMS = {"checkpoint_path"}


def _signature_defaults() -> dict:
    return {name: p.default for name, p in inspect.signature(AdaptiveDeepCluster).parameters.items()}


def test_estimator_params_cover_every_estimator_parameter():
    params = set(ClusterConfig().estimator_params())
    assert params | RUN_ONLY_PARAMS == set(AdaptiveDeepCluster._get_param_names())
    assert not params & RUN_ONLY_PARAMS


def test_estimator_defaults_are_the_configs():
    config = ClusterConfig()
    signature = _signature_defaults()
    disagree = {name: (signature[name], value) for name, value in config.estimator_params().items()
                if signature[name] != value or type(signature[name]) is not type(value)}
    assert not disagree, f"estimator default != ClusterConfig default: {disagree}"


def test_a_default_estimator_is_the_default_config_and_run_fields_are_not_estimator_params():
    assert AdaptiveDeepCluster().get_params() == {**ClusterConfig().estimator_params(), "checkpoint_path": None}
    fields = {f.name for f in dataclasses.fields(ClusterConfig)}
    assert set(RUN_FIELDS) <= fields
    assert not set(RUN_FIELDS) & set(AdaptiveDeepCluster._get_param_names())


def test_the_defaults_that_used_to_disagree_are_the_pipelines():
    """lr, min_epochs, neighbor_weight and init_umap differed (1e-4, 3, 0, None in the estimator)."""
    params = AdaptiveDeepCluster().get_params()
    assert (params["lr"], params["min_epochs"], params["neighbor_weight"], params["init_umap"]) == (1e-3, 10, 1.0, 10)
