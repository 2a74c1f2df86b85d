"""Query by image: a path, bytes (an upload), an http(s) URL or an item id -> ranked items.

The steps: get the image bytes (fetching a URL under the SSRF guard), decode, embed with the
frozen backbone, map through the similarity head, then :meth:`SimilarityArtifact.search
<core.similarity.artifact.SimilarityArtifact.search>` shifts the query along directions and asks
the annoy index. Item-id queries use the stored (served-space) embedding directly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import InvalidInputError, StyleAtlasError
from core.fetch import FetchPolicy, fetch_image
from core.images import decode_image
from core.limits import query_slot
from core.similarity.artifact import item_labels, loaded
from core.similarity.directions import Direction, from_examples
from core.similarity.placement import cluster_backbones, cluster_of_features, cluster_of_item
from core.similarity.served import Embedder
from core.workspace import Workspace

if TYPE_CHECKING:
    from PIL import Image

    from core.serving.models import ServingModels

__all__ = ["MAX_K", "QueryResult", "build_direction", "embed_query", "embed_query_bytes", "list_directions",
           "parse_shift", "similar", "warm_up"]

MAX_K = 500


@dataclass(frozen=True)
class QueryResult:
    """Ranked neighbours of a query.

    Attributes
    ----------
    results : list of ``{"rank", "item_id", "score", "label"}``, most similar first
        (``score`` = cosine similarity of the shifted query and the item).
    query : what was asked: ``{"kind": "path"|"bytes"|"url"|"item", ...}``.
    shift : the direction weights applied.
    cluster : the query's cluster from ``core.cluster.assign_image``: ``{"run_id",
        "cluster", "name", "confidence", "similarity", "outlier"}`` (``name`` is ``"outlier"``
        and ``cluster`` None for an outlier), or None where no clustering exists
        (``cluster_note`` says why).
    """

    results: list[dict[str, Any]]
    query: dict[str, Any]
    shift: dict[str, float]
    cluster: dict[str, Any] | None = None
    cluster_note: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"results": self.results, "query": self.query, "shift": self.shift, "cluster": self.cluster,
                "cluster_note": self.cluster_note, "timings_ms": self.timings_ms}


# -- directions ------------------------------------------------------------------------------
def list_directions(ws: Workspace, run_id: str = "default") -> tuple[dict[str, Direction], list[str]]:
    """Every usable direction: the artifact's (shipped, attribute) and the example sets people
    saved in the workspace's annotations (see :meth:`SimilarityArtifact.all_directions
    <core.similarity.artifact.SimilarityArtifact.all_directions>`).

    Returns
    -------
    directions : by name.
    problems : one line per saved example set that cannot be built now (e.g. items removed).
    """
    return loaded(ws, run_id)[0].all_directions()


def build_direction(
    ws: Workspace, name: str, positive_ids: list[str], negative_ids: list[str],
    source: str = "dashboard", run_id: str = "default",
) -> Direction:
    """Build a direction from two id sets (>= 3 each) and save the sets to the annotations.

    Raises InvalidInputError (saying how many are needed) before anything is saved.
    """
    from core.annotations import Annotations

    art, _ = loaded(ws, run_id)
    direction = from_examples(name, art.embeddings, art.ids, positive_ids, negative_ids, origin=f"annotations:{source}",
                              views=art.views_of)
    Annotations(ws.annotations_path).save_direction_examples(name, positive_ids, negative_ids, source)
    return direction


def parse_shift(pairs: list[str]) -> dict[str, float]:
    """``["stripes=1.0", "floral=-0.5"]`` -> ``{"stripes": 1.0, "floral": -0.5}``."""
    out: dict[str, float] = {}
    for p in pairs:
        name, sep, w = p.partition("=")
        try:
            weight = float(w)
        except ValueError:
            weight = float("nan")
        if not sep or not name.strip() or not np.isfinite(weight):
            raise InvalidInputError(f"--shift takes NAME=WEIGHT with a number, e.g. stripes=1.0; got {p!r}")
        out[name.strip()] = weight
    return out


# -- the query -------------------------------------------------------------------------------
def warm_up(ws: Workspace, run_id: str = "default") -> None:
    """Load what a query needs (index, head, backbone, clustering heads) and run one forward
    pass, so that a web worker's first search is as fast as the rest. Missing artifacts are
    skipped: the pages say what to build."""
    import io

    from PIL import Image

    try:
        art, embedder = loaded(ws, run_id)
    except StyleAtlasError:
        return
    from core.serving.models import serving_models

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (128, 128, 128)).save(buf, format="PNG")
    frozen, _ = embed_query(buf.getvalue(), embedder, art.backbone, also=cluster_backbones(ws),
                            models=serving_models(ws, run_id))
    cluster_of_features(ws, frozen, buf.getvalue())


def embed_query(data: bytes | Image.Image, embedder: Embedder, backbone: str,
                threads: int = 1, also: tuple[str, ...] = (),
                models: ServingModels | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Embed a decoded image (or decode image bytes first, under the ingestion pixel cap): frozen
    features by backbone name ({backbone: (D,)}, plus sibling backbones in ``also`` that share
    the forward pass) and the unit vector in the served space (``embedder``: the artifact's, see
    :meth:`SimilarityArtifact.embedder`).

    ``models``: the workspace's ONNX query models (:func:`core.serving.models.serving_models`);
    given (and of ``backbone``), the pass and the head run in ONNX Runtime and torch is never
    imported. Otherwise torch runs it, with ``threads`` intra-op threads for this one image
    (restored afterwards; 0 keeps torch's setting). One thread is much faster on a busy machine:
    a single 224 px forward pass gains little from parallelism and loses a lot to oversubscribed cores.
    """
    image = decode_image(data) if isinstance(data, bytes) else data
    if models is not None and models.backbone == backbone:
        feats = models.features([image], (backbone, *also))
        frozen = {name: f[0] for name, f in feats.items()}
        return frozen, models.head.transform(feats[backbone])[0]
    import torch

    from core.embed.onthefly import embed_pil

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        out = embed_pil([image], backbone, also=also)
        frozen = {backbone: out.features[0], **{name: f[0] for name, f in out.siblings.items()}}
        return frozen, embedder.transform(out.features)[0]
    finally:
        if threads:
            torch.set_num_threads(before)


def embed_query_bytes(data: bytes, embedder: Embedder, backbone: str, threads: int = 1) -> np.ndarray:
    """The served-space unit vector of image bytes (see :func:`embed_query`)."""
    return embed_query(data, embedder, backbone, threads)[1]


def _read_image(path: str | Path | None, data: bytes | None, url: str | None,
                fetch_policy: FetchPolicy | None) -> tuple[bytes, dict[str, Any]]:
    """The bytes of a path, URL or bytes query, and what was asked (``{"kind": ...}``)."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise InvalidInputError(f"no image file at {p}")
        return p.read_bytes(), {"kind": "path", "path": str(p)}
    if url is not None:
        fetched = fetch_image(url, fetch_policy)
        return fetched.data, {"kind": "url", "url": url, "final_url": fetched.url}
    data_b = bytes(data or b"")
    return data_b, {"kind": "bytes", "n_bytes": len(data_b)}


def similar(
    ws: Workspace,
    *,
    path: str | Path | None = None,
    data: bytes | None = None,
    url: str | None = None,
    item_id: str | None = None,
    k: int = 10,
    shift_weights: Mapping[str, float] | None = None,
    run_id: str = "default",
    fetch_policy: FetchPolicy | None = None,
    with_cluster: bool = True,
    cluster_run: str | None = None,
    threads: int = 1,
) -> QueryResult:
    """Items most similar to a query image, optionally shifted along named directions.

    Parameters
    ----------
    ws : the workspace.
    path, data, url, item_id : exactly one: an image file, image bytes, an http(s) URL, or a
        catalog item (which is then left out of its own results).
    k : number of results (1..500).
    shift_weights : ``{direction name: weight}``; see :func:`list_directions`.
    run_id : which ``similarity/<run_id>``.
    fetch_policy : limits for URL queries (tests use its allow-list).
    with_cluster : also report the query's cluster where a clustering exists.
    cluster_run : which ``clusters/<run>`` (default: ``default``, else the first one).
    threads : torch threads for embedding the query image (see :func:`embed_query_bytes`).
    """
    given = {"path": path, "data": data, "url": url, "item_id": item_id}
    if sum(v is not None for v in given.values()) != 1:
        raise InvalidInputError("give exactly one of an image path, image bytes, a URL or an item id")
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInputError(f"k must be an integer in [1, {MAX_K}]; got {k!r}")
    from core.serving.models import serving_models

    weights = dict(shift_weights or {})
    t0 = time.perf_counter()
    art, embedder = loaded(ws, run_id)
    timings = {"load": (time.perf_counter() - t0) * 1000}
    data_b = b""
    t0 = time.perf_counter()
    if item_id is not None:
        q = art.vector_of(item_id)
        query: dict[str, Any] = {"kind": "item", "item_id": item_id}
    else:
        data_b, query = _read_image(path, data, url, fetch_policy)
        timings["fetch_read"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        with query_slot():
            image = decode_image(data_b)  # once: the embedding and the cluster share it
            frozen, q = embed_query(image, embedder, art.backbone, threads,
                                    also=cluster_backbones(ws, cluster_run) if with_cluster else (),
                                    models=serving_models(ws, run_id))
    timings["embed"] = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    hits = art.search(q, k, exclude=() if item_id is None else (item_id,), shift=weights)
    timings["search"] = (time.perf_counter() - t0) * 1000
    labels = item_labels(ws, run_id)
    results = [{"rank": r, "item_id": h.item_id, "score": round(h.score, 6), "label": labels.get(h.item_id)}
               for r, h in enumerate(hits, start=1)]
    cluster: dict[str, Any] | None = None
    note: str | None = "not requested"
    if with_cluster:
        t0 = time.perf_counter()
        if item_id is not None:
            cluster, note = cluster_of_item(ws, item_id, cluster_run)
        else:
            cluster, note = cluster_of_features(ws, frozen, image, cluster_run)
        timings["cluster"] = (time.perf_counter() - t0) * 1000
    return QueryResult(results, query, weights, cluster, note, {k_: round(v, 2) for k_, v in timings.items()})
