"""Query by image: a path, bytes (an upload), an http(s) URL or an item id -> ranked items.

The steps: get the image bytes (fetching a URL under the SSRF guard), decode, embed with the
frozen backbone, map through the similarity head, shift along directions, search the annoy
index. Item-id queries use the stored tuned embedding directly.

The loaded artifact (index, embeddings, head, saved directions) is cached per process, keyed
by (workspace path, run id, artifact version): a rebuilt artifact gets a new version and
therefore a fresh load. Nothing is loaded at import time.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.directions import Direction, from_examples, shift
from core.errors import InvalidInputError, StyleAtlasError
from core.fetch import FetchPolicy, fetch_image
from core.similarity import TripletEmbedder
from core.similarity_step import SimilarityArtifact, artifact_name, load_similarity
from core.workspace import Workspace

__all__ = ["QueryResult", "similar", "list_directions", "build_direction", "embed_query_bytes",
           "parse_shift", "loaded"]

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
    cluster : the query's cluster from ``core.cluster_step.assign_image``: ``{"run_id",
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


@dataclass(frozen=True)
class _Loaded:
    artifact: SimilarityArtifact
    embedder: TripletEmbedder
    labels: dict[str, str]


@functools.lru_cache(maxsize=8)
def _load_cached(root: str, run_id: str, version: int) -> _Loaded:
    """Load an artifact version once per process (read-only; keyed by its manifest version)."""
    ws = Workspace(root, create=False)
    art = load_similarity(ws, run_id)
    if art.version != version:  # rebuilt between the manifest read and the load
        raise InvalidInputError(f"{artifact_name(run_id)} changed while loading; retry")
    items = ws.items()
    labels: dict[str, str] = {}
    if "label" in items.columns:
        labels = {str(i): str(lab) for i, lab in zip(items["item_id"], items["label"], strict=True)
                  if isinstance(lab, str) and lab}
    return _Loaded(art, art.embedder(), labels)


def loaded(ws: Workspace, run_id: str = "default") -> tuple[SimilarityArtifact, TripletEmbedder]:
    """The (cached) artifact and head for the workspace's current version of ``run_id``.

    Raises MissingArtifactError naming the build command when it does not exist.
    """
    name = artifact_name(run_id)
    ws.artifact_dir(name)  # MissingArtifactError naming `python -m core similarity ...`
    lo = _load_cached(str(Path(ws.root).resolve()), run_id, int(ws.version(name) or 0))
    return lo.artifact, lo.embedder


def _labels(ws: Workspace, run_id: str) -> dict[str, str]:
    name = artifact_name(run_id)
    return _load_cached(str(Path(ws.root).resolve()), run_id, int(ws.version(name) or 0)).labels


# -- directions ------------------------------------------------------------------------------
def list_directions(ws: Workspace, run_id: str = "default") -> tuple[dict[str, Direction], list[str]]:
    """Every usable direction: the artifact's (shipped, attribute) and the example sets people
    saved in the workspace's annotations (built now from the current embeddings; they replace an
    artifact direction of the same name).

    Returns
    -------
    directions : by name.
    problems : one line per saved example set that cannot be built now (e.g. items removed).
    """
    art, _ = loaded(ws, run_id)
    out = dict(art.directions)
    problems: list[str] = []
    if Path(ws.annotations_path).exists():
        from core.annotations import Annotations

        for ex in Annotations(ws.annotations_path).direction_examples():
            try:
                out[ex.name] = from_examples(ex.name, art.embeddings, art.ids, list(ex.positive_ids),
                                             list(ex.negative_ids), origin=f"annotations:{ex.source}")
            except InvalidInputError as exc:
                problems.append(f"{ex.name}: {exc}")
    return out, problems


def build_direction(
    ws: Workspace, name: str, positive_ids: list[str], negative_ids: list[str],
    source: str = "dashboard", run_id: str = "default",
) -> Direction:
    """Build a direction from two id sets (>= 3 each) and save the sets to the annotations.

    Raises InvalidInputError (saying how many are needed) before anything is saved.
    """
    from core.annotations import Annotations

    art, _ = loaded(ws, run_id)
    direction = from_examples(name, art.embeddings, art.ids, positive_ids, negative_ids, origin=f"annotations:{source}")
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
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (128, 128, 128)).save(buf, format="PNG")
    backbone = str(art.config.get("backbone", "efficientnet-lite0"))
    frozen, _ = embed_query(buf.getvalue(), embedder, backbone, also=cluster_backbones(ws))
    cluster_of_features(ws, frozen, buf.getvalue())


def embed_query(data: bytes, embedder: TripletEmbedder, backbone: str, threads: int = 1,
                also: tuple[str, ...] = ()) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Decode image bytes and embed them: frozen features by backbone name ({backbone: (D,)},
    plus sibling backbones in ``also`` that share the forward pass) and the tuned unit vector
    (out_dim,).

    ``threads``: torch intra-op threads for this one image (restored afterwards; 0 keeps torch's
    setting). One thread is much faster on a busy machine: a single 224 px forward pass gains
    little from parallelism and loses a lot to oversubscribed cores.
    """
    import torch

    from core.embedding import embed_pil
    from core.images import decode_image

    image = decode_image(data)
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


def embed_query_bytes(data: bytes, embedder: TripletEmbedder, backbone: str, threads: int = 1) -> np.ndarray:
    """The tuned unit vector (out_dim,) of image bytes (see :func:`embed_query`)."""
    return embed_query(data, embedder, backbone, threads)[1]


def cluster_backbones(ws: Workspace, cluster_run: str | None = None) -> tuple[str, ...]:
    """The backbone of the clustering a query would be placed in (empty without one)."""
    run, _ = cluster_run_of(ws, cluster_run)
    backbone = None if run is None else _clustering_backbone(ws, run)
    return (backbone,) if backbone else ()


def _clustering_backbone(ws: Workspace, run: str) -> str | None:
    """The backbone whose features the clustering ``run`` was made on."""
    from core.cluster_step import artifact_name

    backbone = (ws.record(artifact_name(run)) or {}).get("config", {}).get("backbone")
    return str(backbone) if backbone else None


def cluster_run_of(ws: Workspace, cluster_run: str | None = None) -> tuple[str | None, str | None]:
    """(clustering run to use, None) or (None, why there is none)."""
    runs = [n.split("/", 1)[1] for n in ws.names("clusters/")]
    if not runs:
        return None, "no clustering in this workspace"
    run = cluster_run or ("default" if "default" in runs else runs[0])
    if run not in runs:
        return None, f"no clustering {run!r}; known: {', '.join(runs)}"
    return run, None


def cluster_of_features(ws: Workspace, features: dict[str, np.ndarray], data: bytes,
                        cluster_run: str | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """The cluster of a query image: (assignment dict, with ``"name": "outlier"`` for an
    outlier, None) or (None, why not). ``features`` maps backbone names to the image's (D,)
    features (as :func:`embed_query` gives them); when the clustering's backbone is not among
    them, ``data`` is embedded anew."""
    from core.cluster_step import assign_features, assign_image
    from core.images import decode_image

    run, why = cluster_run_of(ws, cluster_run)
    if run is None:
        return None, why
    try:
        backbone = _clustering_backbone(ws, run)
        if backbone in features:
            return assign_features(ws, features[backbone], run)[0].to_dict(), None
        return assign_image(ws, decode_image(data), run).to_dict(), None
    except StyleAtlasError as exc:
        return None, str(exc)


def cluster_of_item(ws: Workspace, item_id: str, cluster_run: str | None = None,
                    ) -> tuple[dict[str, Any] | None, str | None]:
    """A catalog item's stored cluster: (assignment dict, None) or (None, why not)."""
    from core.cluster_step import load_clustering

    run, why = cluster_run_of(ws, cluster_run)
    if run is None:
        return None, why
    result = load_clustering(ws, run)
    rows = np.flatnonzero(result.ids == item_id)
    if not len(rows):
        return None, f"item {item_id} is newer than clustering {run!r}"
    i = int(rows[0])
    cluster = int(result.labels[i])
    outlier = bool(result.novel[i])  # flagged by the novelty test, as a new image would be
    names = {int(c["cluster"]): c["name"] for c in result.clusters}
    return {"run_id": run, "cluster": cluster, "outlier": outlier,
            "name": "outlier" if outlier else names.get(cluster, f"cluster {cluster}"),
            "confidence": round(float(result.confidence[i]), 4)}, None


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
    import time

    given = {"path": path, "data": data, "url": url, "item_id": item_id}
    chosen = [n for n, v in given.items() if v is not None]
    if len(chosen) != 1:
        raise InvalidInputError("give exactly one of an image path, image bytes, a URL or an item id")
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInputError(f"k must be an integer in [1, {MAX_K}]; got {k!r}")
    weights = dict(shift_weights or {})
    t0 = time.perf_counter()
    art, embedder = loaded(ws, run_id)
    timings = {"load": (time.perf_counter() - t0) * 1000}
    backbone = str(art.config.get("backbone", "efficientnet-lite0"))
    query: dict[str, Any]
    data_b = b""
    exclude: str | None = None
    t0 = time.perf_counter()
    if item_id is not None:
        row = art.row_of(item_id)
        q = np.asarray(art.embeddings[row], dtype=np.float32)
        query, exclude = {"kind": "item", "item_id": item_id}, item_id
    else:
        if path is not None:
            p = Path(path)
            if not p.is_file():
                raise InvalidInputError(f"no image file at {p}")
            data_b = p.read_bytes()
            query = {"kind": "path", "path": str(p)}
        elif url is not None:
            fetched = fetch_image(url, fetch_policy)
            data_b = fetched.data
            query = {"kind": "url", "url": url, "final_url": fetched.url}
        else:
            data_b = bytes(data or b"")
            query = {"kind": "bytes", "n_bytes": len(data_b)}
        timings["fetch_read"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        frozen, q = embed_query(data_b, embedder, backbone, threads,
                                also=cluster_backbones(ws, cluster_run) if with_cluster else ())
    timings["embed"] = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    if weights:
        directions = art.directions
        if any(n not in directions for n in weights):
            directions, _ = list_directions(ws, run_id)
        q = shift(q, weights, directions)
    ids, scores = art.index.query(q, k + (1 if exclude else 0))
    timings["search"] = (time.perf_counter() - t0) * 1000
    labels = _labels(ws, run_id)
    results: list[dict[str, Any]] = []
    for i, s in zip(ids.tolist(), scores.tolist(), strict=True):
        if i == exclude or len(results) == k:
            continue
        results.append({"rank": len(results) + 1, "item_id": i, "score": round(float(s), 6),
                        "label": labels.get(i)})
    cluster: dict[str, Any] | None = None
    note: str | None = "not requested"
    if with_cluster:
        t0 = time.perf_counter()
        if item_id is not None:
            cluster, note = cluster_of_item(ws, item_id, cluster_run)
        else:
            cluster, note = cluster_of_features(ws, frozen, data_b, cluster_run)
        timings["cluster"] = (time.perf_counter() - t0) * 1000
    return QueryResult(results, query, weights, cluster, note, {k_: round(v, 2) for k_, v in timings.items()})
