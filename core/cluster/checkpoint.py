"""Checkpoints of a clustering model: one writer, one reader and one restore path.

A checkpoint holds the estimator's parameters, the preprocessing, both heads and their
optimisers, the centroids and labels, the history and the novelty buffer. ``fit`` resumes from
it and ``AdaptiveDeepCluster.from_checkpoint`` rebuilds a fitted model from it, both through
:func:`restore`.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from core.cluster.preprocess import Preprocessing
from core.errors import CheckpointError

CHECKPOINT_FORMAT = 1


def save(model: Any, path: str | Path, buffer: np.ndarray | None = None) -> Path:
    """Write fitted ``model`` and the novelty ``buffer`` (n,) int indices to ``path`` (atomically)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pre: Preprocessing = model.preprocessing_
    meta = {
        "params": {p: v for p, v in model.get_params().items() if p != "checkpoint_path"},
        "in_dim": int(model.projection_.in_dim),
        "raw_dim": pre.raw_dim,
        "n_items": int(len(model.labels_)),
        "k": int(model.k_),
        "epoch": int(model.n_epochs_),
        "history": model.history_,
        "novelty_mu": model.novelty_mu_,
        "novelty_sigma": model.novelty_sigma_,
        "stopped": model.stopped_,
    }
    state = {
        "format": CHECKPOINT_FORMAT,
        "meta": json.dumps(meta),
        "projection": model.projection_.state_dict(),
        "cluster_head": model.cluster_head_.state_dict(),
        "opt_proj": model._opt_proj.state_dict(),
        "opt_head": model._opt_head.state_dict(),
        "centroids": torch.from_numpy(np.ascontiguousarray(model.centroids_)),
        "labels": torch.from_numpy(model.labels_),
        "buffer": torch.from_numpy(np.asarray(buffer if buffer is not None else [], dtype=np.int64)),
        "pre_mean": torch.from_numpy(pre.mean),
        "pre_scale": torch.from_numpy(pre.scale),
        "pre_components": None if pre.components is None else torch.from_numpy(pre.components),
    }
    buf = io.BytesIO()
    torch.save(state, buf)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return path


def read(path: Path) -> dict[str, Any]:
    """The checkpoint's tensors, with ``"meta"`` decoded; :class:`CheckpointError` when it is
    missing, corrupt or of another format."""
    import torch

    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        meta = json.loads(state["meta"])
        if state.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"checkpoint {path} has format {state.get('format')!r}, expected {CHECKPOINT_FORMAT}"
            )
    except CheckpointError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read is a corrupt file
        raise CheckpointError(f"checkpoint {path} is corrupt or not a clustering checkpoint: {exc}") from None
    state["meta"] = meta
    return state


def check_input(state: dict[str, Any], path: Path, N: int, D: int) -> None:
    """:class:`CheckpointError` unless the checkpoint was trained on N items of D dims."""
    meta = state["meta"]
    if meta["raw_dim"] != D:
        raise CheckpointError(f"checkpoint {path} was trained on features of D={meta['raw_dim']}, these have D={D}")
    if meta["n_items"] != N:
        raise CheckpointError(f"checkpoint {path} holds {meta['n_items']} items' labels, the features have N={N}")


def restore(model: Any, state: dict[str, Any], path: Path) -> np.ndarray:
    """Put a read checkpoint's state into ``model`` (whose parameters size the heads),
    checking every shape. Returns the novelty buffer's (n,) indices."""
    meta = state["meta"]
    comps = state["pre_components"]
    model.preprocessing_ = Preprocessing(
        state["pre_mean"].numpy(), None if comps is None else comps.numpy(), state["pre_scale"].numpy()
    )
    model._build(meta["in_dim"], meta["k"])
    for name, module in (("projection", model.projection_), ("cluster_head", model.cluster_head_)):
        _load_module(path, name, module, state[name])
    try:
        model._opt_proj.load_state_dict(state["opt_proj"])
        model._opt_head.load_state_dict(state["opt_head"])
    except (ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint {path}: optimiser state does not fit: {exc}") from None
    centroids = state["centroids"].numpy()
    if centroids.shape != (meta["k"], model.out_dim):
        raise CheckpointError(
            f"checkpoint {path}: centroids have shape {tuple(centroids.shape)}, expected {(meta['k'], model.out_dim)}"
        )
    model.centroids_ = centroids
    model.labels_ = state["labels"].numpy()
    model.k_ = int(meta["k"])
    model.history_ = list(meta["history"])
    model.n_epochs_ = int(meta["epoch"])
    model.novelty_mu_ = float(meta["novelty_mu"])
    model.novelty_sigma_ = float(meta["novelty_sigma"])
    model.stopped_ = meta.get("stopped", "")
    return state["buffer"].numpy()


def _load_module(path: Path, name: str, module: Any, saved: dict[str, Any]) -> None:
    """``load_state_dict`` with a :class:`CheckpointError` naming the first shape mismatch."""
    own = module.state_dict()
    missing = sorted(set(own) - set(saved))
    extra = sorted(set(saved) - set(own))
    if missing or extra:
        raise CheckpointError(f"checkpoint {path}: {name} parameters differ (missing {missing}, unexpected {extra})")
    for key, tensor in own.items():
        if tuple(saved[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"checkpoint {path}: {name}.{key} has shape {tuple(saved[key].shape)}, "
                f"the model needs {tuple(tensor.shape)}"
            )
    module.load_state_dict(saved)
