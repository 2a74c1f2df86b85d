"""How the forward pass runs on this machine: torch fp32, channels_last, bf16 autocast, or ONNX Runtime; ``auto`` picks.

=================  =================================================  ===============================
runtime            what                                               chosen by ``auto`` when
=================  =================================================  ===============================
``fp32``           torch float32, contiguous (NCHW) tensors, weights  never (the reference)
``channels_last``  torch float32, channels-last, batch norms folded   no onnxruntime, no bf16 units
``bf16``           torch channels_last under bfloat16 autocast        no onnxruntime; AMX / AVX512-BF16
``onnx``           ONNX Runtime float32 (the network exported once)   onnxruntime is installed
=================  =================================================  ===============================

Measured in bench/bench_runtime.py (figures and quality gates in bench/README.md) on a Xeon
with AMX: ONNX Runtime's float32 pass was the fastest that keeps the quality gates (bf16 included),
so ``auto`` takes it wherever it is installed (it is in requirements.txt); without it, bf16 where
the CPU has bf16 units (elsewhere bf16 would be emulated and slower), else channels_last.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from core.errors import InvalidInputError

if TYPE_CHECKING:
    import torch

RuntimeName = Literal["auto", "fp32", "channels_last", "bf16", "onnx"]
"""Accepted values of ``EmbedConfig.runtime``; ``auto`` resolves per machine."""
CHOICES: tuple[str, ...] = get_args(RuntimeName)
AUTO = "auto"
CPUINFO = Path("/proc/cpuinfo")
BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@dataclass(frozen=True)
class Runtime:
    """One way of running a network's forward pass."""

    name: str
    channels_last: bool  # tensors and weights in channels-last memory format
    bf16: bool  # bfloat16 autocast (features come back as float32)
    fold_bn: bool  # batch norms folded into the convolutions before them (exact up to float rounding)
    description: str
    engine: str = "torch"  # "torch", or "onnx": the feature map runs in ONNX Runtime

    def prepare(self, model: Any, network: str, input_size: int) -> Any:
        """``model`` (frozen, eval mode; ``network`` of ``input_size`` pixels) in this runtime's
        memory format, batch norms folded where it folds them (in place); for ONNX Runtime, the
        :class:`~core.embed.onnx.OnnxNetwork` that runs it."""
        import torch

        if self.engine == "onnx":
            from core.embed.onnx import OnnxNetwork

            return OnnxNetwork(model, network, input_size)
        if self.fold_bn:
            fold_batch_norms(model)
        return model.to(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)

    def feature_map(self, model: Any, x: torch.Tensor) -> torch.Tensor:
        """The last feature map of ``model`` (prepared by :meth:`prepare`) for ``x`` (B, 3, S, S):
        (B, C, h, w) float32."""
        import torch

        if self.engine == "onnx":
            return model.extract_features(x)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            return model.extract_features(x.contiguous(memory_format=fmt)).float()


RUNTIMES: dict[str, Runtime] = {
    r.name: r
    for r in (
        Runtime("fp32", False, False, False, "float32, contiguous tensors (the reference)"),
        Runtime("channels_last", True, False, True, "float32, channels-last tensors, batch norms folded"),
        # folding would round the folded weights to bf16 too: measured, it lowers the cosine to fp32
        Runtime("bf16", True, True, False, "channels-last under bfloat16 autocast (fast with AMX)"),
        Runtime("onnx", False, False, False, "ONNX Runtime, float32", engine="onnx"),
    )
}


# (convolution, batch norm after it) attribute pairs of the EfficientNet modules (both packages)
CONV_BN_PAIRS = (("_conv_stem", "_bn0"), ("_conv_head", "_bn1"), ("_expand_conv", "_bn0"),
                 ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2"))


def fold_batch_norms(model: torch.nn.Module) -> int:
    """Fold each eval-mode batch norm into the convolution before it (the norm becomes an
    identity), in place; the number folded."""
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    folded = 0
    for module in list(model.modules()):
        for conv_name, bn_name in CONV_BN_PAIRS:
            conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
            if isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d):
                setattr(module, conv_name, fuse_conv_bn_eval(conv, bn))
                setattr(module, bn_name, torch.nn.Identity())
                folded += 1
    return folded


def cpu_flags(cpuinfo: Path = CPUINFO) -> set[str]:
    """The CPU feature flags of ``/proc/cpuinfo`` (empty where there is none, e.g. macOS)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def auto_runtime(flags: set[str] | None = None, onnx: bool | None = None) -> str:
    """The runtime ``auto`` picks where ONNX Runtime is installed (``onnx``) or not, on a CPU
    with ``flags`` (defaults: this machine's)."""
    from core.embed.onnx import onnx_available

    if onnx_available() if onnx is None else onnx:
        return "onnx"
    flags = cpu_flags() if flags is None else flags
    return "bf16" if flags & set(BF16_FLAGS) else "channels_last"


def resolve(name: str) -> str:
    """The runtime actually used for ``name`` (``auto``: :func:`auto_runtime`);
    :class:`InvalidInputError` naming the choices for an unknown one, or ``onnx`` without
    ONNX Runtime installed."""
    from core.embed.onnx import onnx_available

    if name not in CHOICES:
        raise InvalidInputError(f"unknown runtime {name!r}; choose one of: {', '.join(CHOICES)}")
    if name == "onnx" and not onnx_available():
        raise InvalidInputError("runtime 'onnx' needs onnxruntime: pip install -r requirements.txt")
    return auto_runtime() if name == AUTO else name


def runtime_of(name: str) -> Runtime:
    """The :class:`Runtime` used for ``name`` (see :func:`resolve`)."""
    return RUNTIMES[resolve(name)]
