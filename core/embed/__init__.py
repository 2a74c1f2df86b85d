"""Embedding: frozen pretrained backbones turn catalog photos into the ``features/<backbone>`` artifacts.

Modules: ``spec`` (BackboneSpec and the registry: how each backbone loads, what it gives),
``networks`` (the pretrained networks' loaders), ``preprocess`` (padded square, normalisation),
``runtime`` (how the forward pass runs: fp32, channels_last, bf16; ``auto`` per CPU),
``extractor`` (FeatureExtractor: one pass, pooled per grid), ``cache`` (per-item shards),
``artifact`` (the features artifact: record, write, load), ``step`` (EmbedConfig,
``embed_workspace`` and its per-batch ``compute_batch``), ``onthefly`` (``embed_pil``).

Nothing here imports torch until a network runs, so the app's pages may import these names.
"""

from core.embed.artifact import FeatureSet, load_features
from core.embed.extractor import FeatureExtractor
from core.embed.onthefly import EmbedOutput, embed_pil
from core.embed.runtime import RUNTIMES, Runtime, auto_runtime, runtime_of
from core.embed.spec import (
    CLUSTER_BACKBONE,
    COLOUR_BACKBONE,
    DEFAULT_BACKBONE,
    REGISTRY,
    BackboneSpec,
    get_spec,
    siblings,
)
from core.embed.step import EmbedConfig, EmbedReport, compute_batch, embed_workspace

__all__ = [
    "CLUSTER_BACKBONE", "COLOUR_BACKBONE", "DEFAULT_BACKBONE", "REGISTRY", "RUNTIMES", "BackboneSpec", "EmbedConfig",
    "EmbedOutput", "EmbedReport", "FeatureExtractor", "FeatureSet", "Runtime", "auto_runtime", "compute_batch",
    "embed_pil", "embed_workspace", "get_spec", "load_features", "runtime_of", "siblings",
]
