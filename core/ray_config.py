"""Where and how the embedding runs on a Ray cluster (read by :mod:`core.embed_ray`).

Its own module so that :class:`core.embed.step.EmbedConfig` can name it without importing Ray
or the Ray code.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import InvalidInputError


@dataclass(frozen=True)
class RayConfig:
    """Where and how the embedding runs on Ray.

    ``address``: None starts a local Ray instance (``ray.init()``); ``"auto"`` joins the cluster
    this machine belongs to; ``"host:6379"`` a cluster's head node; ``"ray://host:10001"`` a
    cluster through Ray Client. ``workers``: actors in the pool (None: the cluster's CPUs divided
    by ``cpus_per_worker``). ``cpus_per_worker``: Ray CPUs, and torch threads, of each actor.
    """

    address: str | None = None
    workers: int | None = None
    cpus_per_worker: int = 1
    send_bytes: bool = True  # False: workers read images from the workspace path (shared storage)
    chunk_items: int = 8192  # items per dataset when bytes are sent (bounds the driver's memory)

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise InvalidInputError(f"Ray workers must be >= 1, got {self.workers}")
        if self.cpus_per_worker < 1 or self.chunk_items < 1:
            raise InvalidInputError("Ray cpus_per_worker and chunk_items must be >= 1")
