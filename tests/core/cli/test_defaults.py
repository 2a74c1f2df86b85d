"""Every CLI option that sets a config field defaults to that field: one source of every default."""

import argparse
from dataclasses import fields, replace

import pytest

from core.cli import build_parser, catalog, cluster, similarity
from core.cli.options import config_from_args
from core.cluster import ClusterConfig
from core.embed.step import EmbedConfig
from core.similarity.config import SimilarityConfig

# command, its minimal argv, the config class, the options built from it, the config it defaults to
CASES = [
    ("embed", ["-w", "ws"], EmbedConfig, catalog.EMBED_OPTIONS, EmbedConfig()),
    ("similarity", ["-w", "ws"], SimilarityConfig, similarity.SIMILARITY_OPTIONS, SimilarityConfig()),
    ("cluster", ["-w", "ws"], ClusterConfig, cluster.CLUSTER_OPTIONS, ClusterConfig()),
    ("evaluate", [], ClusterConfig, cluster.EVALUATE_OPTIONS, cluster.EVAL_CONFIG),
    ("evaluate", [], EmbedConfig, cluster.EVALUATE_EMBED_OPTIONS, cluster.EVAL_EMBED_CONFIG),
]


def _subparser(command: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


@pytest.mark.parametrize(("command", "argv", "cls", "options", "expected"), CASES,
                         ids=[f"{c[0]}-{c[2].__name__}" for c in CASES])
def test_options_default_to_the_config(command, argv, cls, options, expected):
    parser = _subparser(command)
    args = parser.parse_args(argv)
    assert config_from_args(cls, args, options) == replace(cls(), **{n: getattr(expected, n) for n in options})
    single = sum(c[0] == command for c in CASES) == 1  # then any option named as a field is checked too
    names = {f.name for f in fields(cls)}
    for action in parser._actions:
        if action.dest in options or (single and action.dest in names):
            unset = getattr(options.get(action.dest), "unset", False)
            assert action.default == (None if unset else getattr(expected, action.dest)), (command, action.dest)


def test_cluster_and_evaluate_build_their_configs_from_no_options():
    assert cluster._config(_subparser("cluster").parse_args(["-w", "ws"]), ClusterConfig()) == ClusterConfig()
    args = _subparser("evaluate").parse_args([])
    assert cluster._config(args, cluster.EVAL_CONFIG, k_default=7) == replace(cluster.EVAL_CONFIG, k_init=7, k_max=7)


def test_evaluate_overrides_are_real_differences():
    """Each evaluate setting differs from the config default (else it would be a second copy of it)."""
    for cls, overrides in cluster.EVALUATE_OVERRIDES.items():
        base = cls()
        assert overrides and all(getattr(base, n) != v for n, v in overrides.items()), cls.__name__
    assert cluster.EVAL_CONFIG == replace(ClusterConfig(), **cluster.EVALUATE_OVERRIDES[ClusterConfig])


def test_help_shows_the_config_default():
    text = " ".join(_subparser("cluster").format_help().split())
    assert f"(default {ClusterConfig().lr})" in text and f"(default {ClusterConfig().k_init})" in text
    assert "(default: the number of classes)" in " ".join(_subparser("evaluate").format_help().split())
