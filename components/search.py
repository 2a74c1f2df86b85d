"""The Search page's logic: turn an upload, a URL or an item into a query; search; shift.

A query is embedded once (``core.similarity.query``) and kept in the browser as its unit vector
(64 floats for the tuned embedding, the backbone's width where frozen features are served) plus what to show about it; every slider move then asks the loaded artifact's
``search`` again (shift, index, skip the query item), a few milliseconds of server time. Nothing of an upload is stored
on the server.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

import numpy as np

from components.data import catalog, hidden_ids, is_item_id
from core.errors import BusyError, InvalidImageError, InvalidInputError, StyleAtlasError
from core.workspace import Workspace, build_command

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_K = 24
SLIDER_MIN, SLIDER_MAX = -1.0, 1.0  # 0: the query as it is; ±1: the same kind of piece with / without it


class SearchError(Exception):
    """A problem to show in the page (bad upload, bad URL, missing index)."""


def decode_upload(contents: str | None, max_bytes: int) -> bytes:
    """Bytes of a ``dcc.Upload`` data URI, checked against the size cap (before decoding the image)."""
    if not contents or "," not in contents:
        raise SearchError("Nothing was uploaded.")
    header, _, payload = contents.partition(",")
    if ";base64" not in header:
        raise SearchError("The upload could not be read.")
    if len(payload) * 3 // 4 > max_bytes + 3:
        raise SearchError(f"That file is too large: the limit is {max_bytes / 1024 / 1024:.0f} MB.")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise SearchError("The upload could not be read.") from None
    if len(data) > max_bytes:
        raise SearchError(f"That file is too large: the limit is {max_bytes / 1024 / 1024:.0f} MB.")
    if not data:
        raise SearchError("The uploaded file is empty.")
    return data


def _similarity(ws: Workspace) -> Any:
    """The loaded similarity artifact and head; SearchError naming the command when it is missing."""
    from core.similarity.artifact import loaded

    if not ws.has("similarity/default"):
        raise SearchError(
            "Search needs the similarity index; build it with " f"`{build_command('similarity/default', ws.root)}`."
        )
    return loaded(ws)


def _cluster_of_item(ws: Workspace, item_id: str) -> dict[str, Any] | None:
    """A catalog item's cluster from the stored assignments, or None without a clustering."""
    from core.similarity.placement import cluster_of_item

    return cluster_of_item(ws, item_id)[0]


def query_from_bytes(ws: Workspace, data: bytes, name: str = "upload") -> dict[str, Any]:
    """A query from image bytes (an upload or a download): its vector and a description.

    The pixel count is checked from the header against the web-query cap before anything is
    decoded; the image is decoded once (embedding, cluster and preview share it), holding one of
    the process's query slots (``core.limits``).
    """
    from core.images import decode_image
    from core.limits import QUERY_LIMITS, query_slot
    from core.serving.models import serving_models
    from core.similarity import placement, query

    art, embedder = _similarity(ws)
    try:
        with query_slot():
            image = decode_image(data, max_pixels=QUERY_LIMITS.max_pixels)
            frozen, vector = query.embed_query(image, embedder, art.backbone, also=placement.cluster_backbones(ws),
                                               models=serving_models(ws))
            cluster = placement.cluster_of_features(ws, frozen, image)[0]
    except InvalidImageError as exc:
        raise SearchError(f"That file is not an image we can read: {exc}") from None
    except BusyError as exc:
        raise SearchError(f"Try again in a moment: {exc}.") from None
    return {
        "kind": "bytes",
        "title": name,
        "item_id": None,
        "preview": preview_data_uri(image),
        "vector": np.asarray(vector, dtype=np.float32).round(6).tolist(),
        "cluster": cluster,
    }


def query_from_url(ws: Workspace, url: str | None, max_bytes: int = 20 * 2**20) -> tuple[dict[str, Any], bytes]:
    """A query from an http(s) URL, fetched under the SSRF guard; returns it and the bytes."""
    from core.fetch import FetchPolicy, fetch_image

    if not url or not url.strip():
        raise SearchError("Paste the address of an image first.")
    _similarity(ws)
    try:
        fetched = fetch_image(url.strip(), FetchPolicy(max_bytes=max_bytes))
    except StyleAtlasError as exc:
        raise SearchError(f"Could not use that address: {exc}") from None
    q = query_from_bytes(ws, fetched.data, name=url.strip())
    q["kind"] = "url"
    return q, fetched.data


def query_from_item(ws: Workspace, item_id: str | None) -> dict[str, Any]:
    """A query from a catalog item (its stored embedding in the served space)."""
    if item_id is None or not is_item_id(item_id) or item_id not in catalog(ws):
        raise SearchError(f"No item “{str(item_id)[:40]}” in this catalog.")
    art, _ = _similarity(ws)
    try:
        vector = art.vector_of(item_id)
    except InvalidInputError:
        raise SearchError("This item is newer than the similarity index; rebuild the index to search with it.") from None
    return {
        "kind": "item",
        "title": catalog(ws).label(item_id) or "catalog item",
        "item_id": item_id,
        "preview": f"/img/thumb/{item_id}",
        "vector": vector.round(6).tolist(),
        "cluster": _cluster_of_item(ws, item_id),
    }


def preview_data_uri(data: bytes | Image.Image, size: int = 240) -> str:
    """A small JPEG preview of a decoded image (or image bytes) as a data URI (shown in the page,
    never stored)."""
    import io

    from PIL import ImageOps

    from core.images import decode_image
    from core.limits import QUERY_LIMITS

    image = decode_image(data, max_pixels=QUERY_LIMITS.max_pixels) if isinstance(data, bytes) else data
    if max(image.size) > size:
        image = ImageOps.contain(image, (size, size))  # a new small image; the given one is left as it is
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def query_cluster(ws: Workspace, q: dict[str, Any] | None) -> dict[str, Any] | None:
    """The query's cluster, computed with the query (stored for a catalog item, assigned from
    the image's features for an upload or a URL); None without a clustering."""
    return (q or {}).get("cluster")


def directions(ws: Workspace, scratch: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Usable directions (``key``, ``name``, ``source``, ``n_positive``, ``n_negative``, ``auc``,
    ``reliability`` in words, ``mine``) and problems: the shared ones, then the visitor's own (``scratch``: their scratch id).

    ``key`` names the slider and the weight: the name, or ``SCRATCH_PREFIX + name`` for one's own.
    """
    from core.similarity import query
    from core.similarity.steering import reliability

    if not ws.has("similarity/default"):
        return [], []
    shared, problems = query.list_directions(ws)
    mine, my_problems = _scratch_directions(ws, scratch)
    out = []
    for key, d in [*sorted(shared.items()), *sorted(mine.items())]:
        s = d.summary()
        out.append({"key": key, "mine": key in mine, "reliability": reliability(s.get("auc")),
                    **{k: s.get(k) for k in ("name", "source", "n_positive", "n_negative", "auc")}})
    return out, problems + my_problems


def _scratch_directions(ws: Workspace, scratch: str | None) -> tuple[dict[str, Any], list[str]]:
    from core.scratch import scratch_directions

    return scratch_directions(ws, scratch) if scratch else ({}, [])


def promote(ws: Workspace, scratch: str | None, name: str) -> tuple[str, str]:
    """Share the visitor's own direction ``name`` with everyone (the caller checked the editor
    role); returns ``(message, bootstrap colour)``."""
    from core.annotations import Annotations
    from core.scratch import ScratchSpace

    if not scratch:
        return "You have no directions of your own.", "warning"
    try:
        ScratchSpace(ws.annotations_path, scratch).promote_direction(name, Annotations(ws.annotations_path))
    except StyleAtlasError as exc:
        return str(exc), "danger"
    return f"“{name}” is now shared: every visitor has its slider (reload to see it).", "success"


def clean_weights(names: list[str], values: list[float | None]) -> dict[str, float]:
    """Slider values by direction name, zeros left out, clipped to the slider range."""
    out: dict[str, float] = {}
    for name, value in zip(names, values, strict=False):
        if value is None:
            continue
        w = float(np.clip(float(value), SLIDER_MIN, SLIDER_MAX))
        if w != 0.0 and np.isfinite(w):
            out[name] = w
    return out


def search(ws: Workspace, q: dict[str, Any], weights: dict[str, float] | None = None, k: int = DEFAULT_K,
           scratch: str | None = None) -> list[dict[str, Any]]:
    """Ranked ``{"item_id", "score", "label"}`` for a query vector shifted by ``weights`` (keys of
    :func:`directions`; ``scratch``: the visitor whose own directions may be among them)."""
    art, _ = _similarity(ws)
    vector = np.asarray(q.get("vector") or [], dtype=np.float32)
    if vector.shape != (art.embeddings.shape[1],):
        raise SearchError("The query no longer matches the index (it was rebuilt); run the search again.")
    exclude = {q.get("item_id"), *hidden_ids(ws)} - {None}
    try:
        mine = _scratch_directions(ws, scratch)[0] if weights else {}
        hits = art.search(vector, k, exclude=exclude, shift=weights, extra=mine)
    except InvalidInputError as exc:
        raise SearchError(str(exc)) from None
    cat = catalog(ws)
    return [{"item_id": h.item_id, "score": h.score, "label": cat.label(h.item_id)} for h in hits]


def cluster_text(cluster: dict[str, Any] | None, names: dict[int, str]) -> str | None:
    """How the query's cluster reads in the page (``outlier`` when it fits none)."""
    if not cluster:
        return None
    c = cluster.get("cluster")
    if c is None or c == "outlier" or cluster.get("outlier"):
        conf = cluster.get("confidence")
        return "outlier — unlike every cluster" + (f" (confidence {float(conf):.2f})" if conf is not None else "")
    try:
        c_int = int(c)
    except (TypeError, ValueError):
        return str(c)
    name = cluster.get("name") or names.get(c_int, f"cluster {c_int}")
    conf = cluster.get("confidence")
    return f"cluster {c_int} · {name}" + (f" (confidence {float(conf):.2f})" if conf is not None else "")
