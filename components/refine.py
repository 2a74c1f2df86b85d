"""Search refinements: thumbs up/down per result (Rocchio) and search by colour.

Everything here arrives from the browser and is checked before use: marks are item ids of
the catalog, at most ``MAX_MARKED`` a side, tied to the query they were made on; a colour query
holds at most ``MAX_COLOURS`` finite CIELAB colours.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from typing import Any

import numpy as np

from components.data import catalog, hidden_ids, is_item_id
from components.search import DEFAULT_K, SearchError, _scratch_directions, _similarity, decode_upload
from core.errors import InvalidImageError, InvalidInputError, StyleAtlasError
from core.workspace import Workspace

MAX_COLOURS = 8
CANDIDATES = 200  # image-search candidates re-ranked by colour
FILTERED_CANDIDATES = 8 * DEFAULT_K  # image-search candidates a filter bar thins
SOURCE = "search feedback"


def query_key(q: dict[str, Any] | None) -> str:
    """Identifies a query by its vector (marks made on another query are ignored)."""
    vec = np.asarray((q or {}).get("vector") or [], dtype=np.float32)
    return hashlib.sha1(vec.tobytes()).hexdigest()[:12]


def marks(data: Any, q: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """``(up, down)`` item ids from the browser's mark store, when they belong to ``q``."""
    from core.similarity.feedback import MAX_MARKED

    if not isinstance(data, dict) or data.get("query") != query_key(q):
        return [], []
    out = []
    for side in ("up", "down"):
        ids = data.get(side)
        ids = [i for i in ids if is_item_id(i)][:MAX_MARKED] if isinstance(ids, list) else []
        out.append(list(dict.fromkeys(ids)))
    down = set(out[1])
    return [i for i in out[0] if i not in down], out[1]


def toggle(data: Any, q: dict[str, Any] | None, item_id: object, vote: object) -> dict[str, Any]:
    """The mark store after a click on ``vote`` ("up" | "down") of ``item_id``: a second click
    on the same thumb takes it back; a thumb on one side takes the item off the other."""
    up, down = marks(data, q)
    if is_item_id(item_id) and vote in ("up", "down"):
        mine, other = (up, down) if vote == "up" else (down, up)
        if item_id in mine:
            mine.remove(item_id)
        else:
            mine.append(str(item_id))
            if item_id in other:
                other.remove(item_id)
    from core.similarity.feedback import check_marks

    up, down = check_marks(up, down)
    return {"query": query_key(q), "up": up, "down": down}


# -- colour ------------------------------------------------------------------------------------
def colour_store(query: Any) -> dict[str, Any]:
    """A ColourQuery as JSON for a ``dcc.Store``."""
    return {"lab": np.asarray(query.lab).round(3).tolist(), "weights": np.asarray(query.weights).round(4).tolist(),
            "hex": query.hex()}


def colour_from_hex(value: str | None) -> dict[str, Any]:
    """The store of a picked colour (``#rrggbb``); SearchError for anything else."""
    from core.colour_search import query_from_hex

    try:
        return colour_store(query_from_hex(str(value or "")))
    except InvalidInputError as exc:
        raise SearchError(str(exc)) from None


def colour_from_upload(contents: str | None, max_bytes: int) -> dict[str, Any]:
    """The store of a dropped swatch image (its palette, the whole picture counted)."""
    from core.colour_search import query_from_image
    from core.images import decode_image
    from core.limits import QUERY_LIMITS

    data = decode_upload(contents, max_bytes)
    try:
        image = decode_image(data, max_pixels=QUERY_LIMITS.max_pixels)
    except InvalidImageError as exc:
        raise SearchError(f"That swatch is not an image we can read: {exc}") from None
    return colour_store(query_from_image(image))


def colour_query(data: Any) -> Any:
    """The ColourQuery of a store from the browser, or None (missing or malformed)."""
    from core.colour_search import ColourQuery

    if not isinstance(data, dict):
        return None
    try:
        lab = np.asarray(data.get("lab"), dtype=np.float32)
        w = np.asarray(data.get("weights"), dtype=np.float32)
    except (TypeError, ValueError):
        return None
    if (lab.ndim != 2 or lab.shape[1] != 3 or not 1 <= len(lab) <= MAX_COLOURS or w.shape != (len(lab),)
            or not np.all(np.isfinite(lab)) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0
            or np.any(np.abs(lab) > 200)):
        return None
    return ColourQuery(lab, (w / w.sum()).astype(np.float32))


# -- results -----------------------------------------------------------------------------------
def results(ws: Workspace, q: dict[str, Any] | None, weights: dict[str, float] | None = None,
            mark_data: Any = None, colour: Any = None, scratch: str | None = None,
            k: int = DEFAULT_K, allowed: Collection[str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Ranked ``{"item_id", "score", "label", "vote", "delta_e"}`` and notes on what shaped them.

    The image query (refined by the marks: Rocchio on the served embedding) ranks the catalog;
    thumbs-down items and hidden duplicates leave the results; a colour query alone ranks by
    palette distance, with an image query it re-ranks the image's candidates. ``allowed``: only
    these items (what passes the filter bar; None: all); the image index is then asked for
    ``FILTERED_CANDIDATES`` and its hits thinned.
    """
    from core.colour_search import combine, search_colour
    from core.similarity.feedback import rocchio

    cq = colour_query(colour)
    gone = set(hidden_ids(ws))
    cat = catalog(ws)
    notes: list[str] = []
    if not q:
        if cq is None:
            return [], notes
        try:
            hits, ms = search_colour(ws, cq, k, allowed=allowed, skip=gone)
        except StyleAtlasError as exc:
            raise SearchError(f"Search by colour needs the palettes: {exc}") from None
        notes.append(f"closest in colour ({ms:.0f} ms)")
        return [{"item_id": h.item_id, "score": -h.delta_e, "label": cat.label(h.item_id), "vote": None,
                 "delta_e": h.delta_e} for h in hits], notes
    art, _ = _similarity(ws)
    vector = np.asarray(q.get("vector") or [], dtype=np.float32)
    if vector.shape != (art.embeddings.shape[1],):
        raise SearchError("The query no longer matches the index (it was rebuilt); run the search again.")
    up, down = marks(mark_data, q)
    known = {str(i): n for n, i in enumerate(art.ids.tolist())}
    up = [i for i in up if i in known]
    down = [i for i in down if i in known]
    if up or down:
        try:
            vector = rocchio(vector, art.embeddings[[known[i] for i in up]] if up else np.zeros((0, len(vector))),
                             art.embeddings[[known[i] for i in down]] if down else np.zeros((0, len(vector))))
        except InvalidInputError as exc:
            raise SearchError(str(exc)) from None
        notes.append(f"refined by {len(up)} 👍 and {len(down)} 👎")
    exclude = {q.get("item_id"), *down, *gone} - {None}
    n = CANDIDATES if cq is not None else k
    if allowed is not None:
        n = max(n, FILTERED_CANDIDATES)
    try:
        mine = _scratch_directions(ws, scratch)[0] if weights else {}
        hits = art.search(vector, n, exclude=exclude, shift=weights, extra=mine)
    except InvalidInputError as exc:
        raise SearchError(str(exc)) from None
    if allowed is not None:  # only what passes the filter, best first
        hits = [h for h in hits if h.item_id in allowed]
        if cq is None:
            hits = hits[:k]
    votes = {**{i: "up" for i in up}, **{i: "down" for i in down}}
    if cq is None:
        return [{"item_id": h.item_id, "score": h.score, "label": cat.label(h.item_id), "vote": votes.get(h.item_id),
                 "delta_e": None} for h in hits], notes
    try:
        ranked = combine({h.item_id: h.score for h in hits}, ws, cq)[:k]
    except StyleAtlasError as exc:
        raise SearchError(f"Search by colour needs the palettes: {exc}") from None
    notes.append("re-ranked by colour")
    return [{"item_id": i, "score": s, "label": cat.label(i), "vote": votes.get(i), "delta_e": d}
            for i, s, d in ranked], notes


def save_direction(ws: Workspace, name: str | None, mark_data: Any, q: dict[str, Any] | None, editor: bool,
                   scratch: str | None) -> tuple[str, str]:
    """Save the marked results as a direction's examples (👍 with the look, 👎 without): shared
    for an editor (the caller checked the role), in the visitor's scratch space otherwise.
    Returns ``(message, bootstrap colour)``."""
    from core.annotations import Annotations
    from core.scratch import ScratchSpace
    from core.similarity.directions import from_examples

    up, down = marks(mark_data, q)
    if not name or not name.strip():
        return "Give the direction a name first.", "warning"
    try:
        art, _ = _similarity(ws)
        from_examples(name.strip(), art.embeddings, art.ids, up, down)  # the checks, before anything is saved
        if editor:
            Annotations(ws.annotations_path).save_direction_examples(name.strip(), up, down, SOURCE)
            return f"Saved “{name.strip()}” for everyone: {len(up)} 👍, {len(down)} 👎 (reload for its slider).", "success"
        if not scratch:
            return "Your scratch space is not available (cookies off?).", "warning"
        space = ScratchSpace(ws.annotations_path, scratch)
        space.add_direction_examples(name.strip(), up, True)
        space.add_direction_examples(name.strip(), down, False)
    except (SearchError, StyleAtlasError) as exc:
        return str(exc), "danger"
    return f"Saved “{name.strip()}” in your scratch space: only you see it (reload for its slider).", "success"
