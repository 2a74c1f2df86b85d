"""Which space the similarity artifact serves: the tuned embedding only where it beats frozen.

A label-free validation the step runs itself, on the held-out items (never trained on):

- ``view_top1/5/10``: an augmented view of a held-out item must find the item itself (the
  features artifact's ``views`` are near-duplicates made from the catalog);
- ``neighbour_agreement``: mean share of an item's 10 nearest neighbours in the tuned space
  that are also among its 10 nearest in the frozen space (1 for frozen itself);
- ``label_precision_at_10`` as well where the catalog has labels.

Both spaces are compared the same way: L2-normalised rows, exact cosine search (the index
type the artifact builds for either). The tuned embedding is served only when it is at least
as good as frozen on every view and label measure and keeps ``MIN_AGREEMENT`` of the frozen
neighbourhoods (a head that found views by forgetting what pieces look like loses there);
otherwise the frozen features are served. The decision and its numbers go into
``evaluation.json`` under ``served``.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from core.similarity.retrieval import exact_topk, l2_normalise

__all__ = ["Embedder", "FrozenEmbedder", "MIN_AGREEMENT", "choose_space", "neighbour_agreement", "served_sentence"]

MIN_AGREEMENT = 0.5
COMPARED = ("partner_top1", "partner_top5", "partner_top10", "label_precision_at_10")


class Embedder(Protocol):
    """What maps frozen features to the served space (the trained head, its ONNX export, or
    :class:`FrozenEmbedder`)."""

    def transform(self, X: np.ndarray) -> np.ndarray:
        """(..., D) frozen features -> (..., d) float32 unit rows."""
        ...


class FrozenEmbedder:
    """Stands in for the trained head where the frozen features are served: L2-normalises them."""

    def transform(self, X: np.ndarray) -> np.ndarray:
        """(..., D) frozen features -> (..., D) float32 unit rows."""
        return l2_normalise(np.asarray(X, dtype=np.float32))


def neighbour_agreement(tuned: np.ndarray, frozen: np.ndarray, query_idx: np.ndarray, k: int = 10) -> float:
    """Mean share of each query's ``k`` nearest rows in ``tuned`` (N, d) that are also among its
    ``k`` nearest in ``frozen`` (N, D) (both L2-normalised; the query itself left out)."""
    q = np.asarray(query_idx, dtype=np.int64)
    if len(q) == 0:
        return float("nan")
    a = exact_topk(tuned, tuned[q], k, q)
    b = exact_topk(frozen, frozen[q], k, q)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a.tolist(), b.tolist(), strict=True)]))


def choose_space(frozen: dict[str, Any], tuned: dict[str, Any], agreement: float) -> dict[str, Any]:
    """The served space and why, from the held-out metrics of both spaces.

    Parameters
    ----------
    frozen, tuned : retrieval metrics (``partner_top*``, ``label_precision_at_10``) of each space.
    agreement : :func:`neighbour_agreement` of the tuned space with the frozen one.

    Returns
    -------
    ``{"space": "tuned" | "frozen", "reason": str, "losses": [metric, ...], "neighbour_agreement"}``.
    """
    measured = [m for m in COMPARED if isinstance(frozen.get(m), float) and isinstance(tuned.get(m), float)]
    losses = [m for m in measured if tuned[m] < frozen[m]]
    if not measured:
        reason = "there was nothing held out to compare the two spaces on"
    elif losses:
        m = losses[0]
        reason = f"the tuned embedding scored lower on {m.replace('_', ' ')} ({tuned[m]:.2f} vs {frozen[m]:.2f})"
    elif not agreement >= MIN_AGREEMENT:
        reason = (f"the tuned embedding kept only {agreement:.0%} of the frozen neighbourhoods "
                  f"(at least {MIN_AGREEMENT:.0%} needed)")
    else:
        return {"space": "tuned", "reason": "it was at least as good as the frozen features on every held-out "
                f"measure ({', '.join(measured)}) and kept {agreement:.0%} of their neighbourhoods",
                "losses": [], "neighbour_agreement": agreement}
    return {"space": "frozen", "reason": reason, "losses": losses, "neighbour_agreement": agreement}


def served_sentence(evaluation: dict[str, Any]) -> str | None:
    """One sentence for people: which space Search serves and why (None for an old artifact)."""
    served = evaluation.get("served")
    if not isinstance(served, dict):
        return None
    if served.get("space") == "tuned":
        return f"Search uses the tuned embedding: {served.get('reason')}."
    return f"Search uses the frozen backbone features, because {served.get('reason')}."
