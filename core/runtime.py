"""Numeric runtime of the frozen backbone's forward pass: fp32, or bf16 on CPUs with bf16 units.

bf16 autocast runs the convolutions on AMX / AVX-512-BF16 units where the CPU has them (about
2-3× the fp32 throughput on the Xeons measured in ``bench/bench_runtime.py``) with features at
cosine ≥ 0.999 to fp32; elsewhere it would be emulated and slower, so ``auto`` picks it only
when the CPU reports those units.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, get_args

from core.errors import InvalidInputError

Runtime = Literal["auto", "fp32", "bf16"]
"""Accepted values of ``EmbedConfig.runtime``; ``auto`` resolves per machine."""
RUNTIMES: tuple[str, ...] = get_args(Runtime)
BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux reports them (empty where /proc/cpuinfo is absent)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def resolve(runtime: str) -> str:
    """The runtime actually used for ``runtime`` (``auto``: ``bf16`` where the CPU has bf16
    matrix units, else ``fp32``); InvalidInputError names the accepted values."""
    if runtime not in RUNTIMES:
        raise InvalidInputError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    if runtime == "auto":
        return "bf16" if cpu_flags() & set(BF16_FLAGS) else "fp32"
    return runtime


@contextlib.contextmanager
def autocast(runtime: str) -> Iterator[None]:
    """The context a forward pass runs in for a resolved ``runtime`` (``fp32``: none)."""
    if runtime == "bf16":
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16):
            yield
    else:
        yield
