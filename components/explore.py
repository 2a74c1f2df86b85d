"""The Explore page's logic: the map frame, the WebGL figure, hover tooltips, the selection tray.

The figure carries only coordinates (base64 typed arrays). A hover or a selection names points
by (trace, point number); the server maps them back to frame rows through the same grouping
that drew the figure (cached per map and colouring) and answers with the tooltip or the tray
only; the figure is never re-sent on hover.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from dash import html

from components import clusterdata, ids, map_view
from components.data import catalog, projection
from components.images import thumb_url
from components.links import with_collection
from core import hidden
from core.annotations import MAX_EXAMPLES_PER_SIDE, Annotations
from core.errors import StyleAtlasError
from core.scratch import ScratchSpace
from core.workspace import Workspace

COLOR_OPTIONS: dict[str, str] = {
    "cluster": "Cluster",
    "label": "Catalog label",
    "colour": "Dominant colour",
    "novelty": "Novelty",
}
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#8c6d31", "#843c39", "#7b4173",
    "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#9c9ede", "#e7ba52", "#d6616b",
    "#a55194", "#6baed6",
)
TRAY_SHOWN = 48
MAX_TRAY_ITEMS = MAX_EXAMPLES_PER_SIDE  # photos saved from the tray at once (one side of a direction)
MIN_DIRECTION_EXAMPLES = 3


@dataclass(frozen=True)
class MapKey:
    """Identifies one map frame: the server's workspace, the projection and clustering runs
    with their versions. Only the runs and versions travel to the browser (:meth:`to_dict`);
    the server rebuilds the key from its own workspace (:meth:`from_dict`)."""

    root: str
    projection: str
    projection_version: int
    items_version: int
    clusters: str | None
    clusters_version: int
    level: int | None = None  # the clustering's tree cut at this many groups; None: the fine clusters
    hidden: str = ""  # core.hidden.fingerprint: hidden duplicates are left off the map

    def to_dict(self, color_by: str | None = None, view: map_view.Bounds | None = None) -> dict[str, Any]:
        """JSON for a ``dcc.Store`` (with the colouring and the view drawn, which fix the
        traces); the workspace's path stays on the server."""
        return {**{k: v for k, v in self.__dict__.items() if k != "root"}, "color_by": color_by,
                "view": list(view) if view is not None else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any], ws: Workspace) -> MapKey:
        """The key of the map a browser's store names, in the server's own workspace ``ws``.

        Nothing in ``data`` is trusted: a ``root`` is ignored, a projection run the workspace
        does not hold falls back to ``default``, and the versions are the ones on disk now (a
        stale store is re-read, never served as current).
        """
        run_id = data.get("projection") if isinstance(data, dict) else None
        if not isinstance(run_id, str) or run_id not in {n.split("/", 1)[1] for n in ws.names("projection/")}:
            run_id = "default"
        return current_key(ws, run_id, level=data.get("level") if isinstance(data, dict) else None)


def current_key(ws: Workspace, run_id: str = "default", clusters_run: str = "default", level: Any = None) -> MapKey:
    """The key of the map for projection ``run_id`` as the workspace holds it now, its clusters
    cut at ``level`` groups (from the browser: anything but 1..k-1 means the fine clusters)."""
    crun = clusters_run if ws.has(f"clusters/{clusters_run}") else None
    k = clusterdata.n_levels(ws, crun) if crun else 0
    cut = clusterdata.parse_level(level, k) if (crun and level is not None) else k
    return MapKey(
        root=str(ws.root),
        projection=run_id,
        projection_version=ws.version(f"projection/{run_id}") or 0,
        items_version=ws.version("items") or 0,
        clusters=crun,
        clusters_version=(ws.version(f"clusters/{crun}") or 0) if crun else 0,
        level=cut if (crun and cut < k) else None,
        hidden=hidden.fingerprint(ws.annotations_path),
    )


def legend_names(ws: Workspace, key: MapKey) -> dict[int, str]:
    """``{cluster or group node: display name}`` of the map's clusters at its granularity."""
    if not key.clusters:
        return {}
    if key.level is None:
        return clusterdata.display_names(ws, key.clusters)
    return clusterdata.level_names(ws, key.level, key.clusters)


@lru_cache(maxsize=6)
def map_frame(key: MapKey) -> pd.DataFrame:
    """Projection rows joined with catalog metadata and cluster assignments.

    Columns: item_id, x, y, label, dominant_colour, and when a clustering exists
    cluster (int), confidence (float), novel (bool). Cluster names are not in the frame:
    a stylist may rename a cluster at any time, so they are looked up when drawing.
    """
    ws = Workspace(key.root, create=False)
    frame = projection(ws, key.projection).reset_index(drop=True)
    if key.hidden:
        frame = frame[~frame["item_id"].isin(hidden.hidden_ids(ws.annotations_path))].reset_index(drop=True)
    cat = catalog(ws)
    meta = cat.frame
    frame["label"] = (
        frame["item_id"].map(meta["label"]).fillna("").astype(str) if "label" in meta.columns else ""
    )
    frame["label"] = frame["label"].replace("", "unlabelled")
    frame["dominant_colour"] = (
        frame["item_id"].map(meta["dominant_colour"]).fillna("#999999").astype(str)
        if "dominant_colour" in meta.columns
        else "#999999"
    )
    if key.clusters:
        assign = clusterdata.assignments(ws, key.clusters)
        if assign is not None:
            merged = frame[["item_id"]].merge(assign, on="item_id", how="left")
            frame["cluster"] = merged["cluster"].fillna(-1).astype(int).to_numpy()
            frame["confidence"] = merged["confidence"].astype(float).to_numpy()
            frame["novel"] = merged["novel"].fillna(False).astype(bool).to_numpy()
            if key.level is not None:  # the tree cut: each fine cluster becomes its group's node
                to_node = clusterdata.leaf_to_group(ws, key.level, key.clusters)
                frame["cluster"] = frame["cluster"].map(lambda c: to_node.get(int(c), -1) if c >= 0 else -1).astype(int)
    return frame


def _typed(values: np.ndarray) -> dict[str, str]:
    """A numpy array as a plotly.js typed-array spec (base64), compact on the wire."""
    arr = np.ascontiguousarray(values)
    kind = {"float32": "f4", "float64": "f8", "int32": "i4", "int16": "i2", "uint8": "u1"}[str(arr.dtype)]
    return {"dtype": kind, "bdata": base64.b64encode(arr.tobytes()).decode("ascii")}


def _groups(frame: pd.DataFrame, color_by: str, names: dict[int, str]) -> list[tuple[str, np.ndarray, str]]:
    """(legend name, row numbers, colour) per trace."""
    if color_by == "cluster" and "cluster" in frame.columns:
        out = []
        for n, (c, rows) in enumerate(sorted(frame.groupby("cluster").indices.items())):
            label = f"{c} · {names.get(int(c), f'cluster {c}')}" if c >= 0 else "unassigned"
            out.append((label, rows, PALETTE[n % len(PALETTE)]))
        return out
    if color_by == "novelty" and "novel" in frame.columns:
        novel = frame["novel"].to_numpy()
        return [
            ("typical", np.flatnonzero(~novel), "#9aa5b1"),
            ("novel (flagged)", np.flatnonzero(novel), "#e74c3c"),
        ]
    groups = frame.groupby("label").indices
    order = sorted(groups, key=lambda k: (k == "unlabelled", -len(groups[k]), k))
    return [(g, groups[g], PALETTE[n % len(PALETTE)] if g != "unlabelled" else "#b0b0b0") for n, g in enumerate(order)]


def effective_color(frame: pd.DataFrame, color_by: str | None) -> str:
    """The colouring actually drawn: cluster and novelty fall back to labels without a clustering."""
    if color_by not in COLOR_OPTIONS:
        return "label"
    if color_by in ("cluster", "novelty") and "cluster" not in frame.columns:
        return "label"
    return str(color_by)


@dataclass(frozen=True)
class Plan:
    """What a figure draws: point traces ``(name, rows, colour, count)`` (``rows`` int32 frame
    rows drawn, ``count`` items of the group in view; colour None: each point its dominant
    colour) and, for an aggregated view, the ``density`` grid drawn under them as trace 0."""

    traces: list[tuple[str, np.ndarray, str | None, int]]
    density: map_view.Density | None = None


def plan(frame: pd.DataFrame, color_by: str | None, names: dict[int, str] | None = None,
         view: map_view.Bounds | None = None) -> Plan:
    """The traces of the map of ``frame`` coloured by ``color_by`` for ``view`` (None: whole map).

    A catalog of at most ``map_view.MAX_POINTS`` items draws every point and ignores ``view``;
    a larger one draws the points around ``view`` (grown by ``map_view.WIDEN``) when they are at
    most ``MAX_POINTS``, else a density of the area with one representative point per grid cell.
    """
    color_by = effective_color(frame, color_by)
    if color_by == "colour":
        groups = [("dominant colour", np.arange(len(frame), dtype=np.int32), None)]
    else:
        groups = [(name, np.asarray(rows, dtype=np.int32), colour) for name, rows, colour in _groups(frame, color_by, names or {})]
    if not map_view.is_large(len(frame)):
        return Plan([(name, rows, colour, len(rows)) for name, rows, colour in groups])
    x = frame["x"].to_numpy(np.float32)
    y = frame["y"].to_numpy(np.float32)
    whole = map_view.full_bounds(x, y)
    if view is not None:
        for factor in map_view.WIDEN:
            mask = map_view.in_view(x, y, map_view.widen(view, factor, whole))
            if mask.sum() <= map_view.MAX_POINTS:
                return Plan([(name, rows[mask[rows]], colour, int(mask[rows].sum())) for name, rows, colour in groups])
    area = whole if view is None else map_view.widen(view, map_view.WIDEN[-2], whole)
    mask = map_view.in_view(x, y, area)
    grid = map_view.density(x, y, np.flatnonzero(mask), area)
    is_rep = np.zeros(len(frame), dtype=bool)
    is_rep[grid.reps] = True
    return Plan([(name, rows[is_rep[rows]], colour, int(mask[rows].sum())) for name, rows, colour in groups], grid)


def trace_rows(frame: pd.DataFrame, color_by: str | None, view: map_view.Bounds | None = None) -> list[np.ndarray]:
    """Frame row numbers of each trace's points, in drawing order (int32 arrays); an
    aggregated view's density trace (trace 0) has none."""
    drawn = plan(frame, color_by, None, view)
    rows = [r for _, r, _, _ in drawn.traces]
    return [np.zeros(0, dtype=np.int32), *rows] if drawn.density is not None else rows


@lru_cache(maxsize=16)
def cached_trace_rows(key: MapKey, color_by: str | None, view: map_view.Bounds | None = None) -> list[np.ndarray]:
    """:func:`trace_rows` of the map ``key`` (cached; the same grouping that drew it)."""
    return trace_rows(map_frame(key), color_by, view)


def view_of(key: dict[str, Any] | None) -> map_view.Bounds | None:
    """The view a browser's key store names (checked; None: the whole map)."""
    return map_view.check_bounds(key.get("view")) if isinstance(key, dict) else None


def view_change(frame: pd.DataFrame, relayout: Any, previous: map_view.Bounds | None) -> tuple[bool, map_view.Bounds | None]:
    """``(redraw, view)`` after a zoom or pan (``relayoutData``): only a large map redraws."""
    if not map_view.is_large(len(frame)):
        return False, None
    whole = map_view.full_bounds(frame["x"].to_numpy(np.float32), frame["y"].to_numpy(np.float32))
    return map_view.view_from_relayout(relayout, previous, whole)


def _density_trace(grid: map_view.Density) -> dict[str, Any]:
    z = np.log1p(grid.counts.astype(np.float32))
    z[grid.counts == 0] = np.nan  # empty cells stay transparent
    return {
        "type": "heatmap",
        "name": "density",
        "x": _typed(grid.xc),
        "y": _typed(grid.yc),
        "z": {**_typed(z), "shape": f"{z.shape[0]}, {z.shape[1]}"},
        "colorscale": [[0, "#e8edf5"], [1, "#4a5f86"]],
        "showscale": False,
        "hoverinfo": "skip",
        "zsmooth": False,
        "showlegend": False,
    }


FILTERED_OUT = "#d5d9df"  # the colour of points the filter leaves out (greyed, not hidden)


def build_figure(frame: pd.DataFrame, color_by: str = "cluster", names: dict[int, str] | None = None,
                 view: map_view.Bounds | None = None, keep: np.ndarray | None = None) -> dict[str, Any]:
    """The map as a plotly figure dict: one ``scattergl`` trace per group (legend toggles them),
    under which an aggregated view (see :func:`plan`) draws its density heatmap.

    Point j of trace i is frame row ``trace_rows(frame, color_by, view)[i][j]``; ``names`` maps
    cluster ids to display names. ``keep``: (n_rows,) bool of the points that pass the filter
    bar; the others stay on the map, greyed (each trace's colour is then a 0/1 typed array over
    a two-colour scale, so the figure grows by one byte per point), and legends count what passes.
    """
    names = names or {}
    if keep is not None and (len(keep) != len(frame) or bool(np.all(keep))):
        keep = None
    color_by = effective_color(frame, color_by)
    drawn = plan(frame, color_by, names, view)
    n = sum(len(rows) for _, rows, _, _ in drawn.traces)
    size = 7 if n < 2000 else 5 if n < 20000 else 3
    x = frame["x"].to_numpy(np.float32)
    y = frame["y"].to_numpy(np.float32)
    traces: list[dict[str, Any]] = [] if drawn.density is None else [_density_trace(drawn.density)]
    for name, rows, colour, count in drawn.traces:
        if colour is None:
            colours = frame["dominant_colour"].to_numpy()[rows]
            if keep is not None:
                colours = np.where(keep[rows], colours, FILTERED_OUT)
            traces.append(
                {
                    "type": "scattergl",
                    "mode": "markers",
                    "name": name,
                    "x": _typed(x[rows]),
                    "y": _typed(y[rows]),
                    "marker": {"size": size + 1, "color": colours.tolist(),
                               "line": {"width": 0.3, "color": "#555"}},
                    "hoverinfo": "none",
                    "showlegend": False,
                }
            )
        else:
            marker: dict[str, Any] = {"size": size, "color": colour, "opacity": 0.85}
            label = f"{count}"
            if keep is not None:
                passed = keep[rows]
                marker.update(color=_typed(passed.astype(np.uint8)), cmin=0, cmax=1, showscale=False,
                              colorscale=[[0, FILTERED_OUT], [1, colour]])
                if drawn.density is None:  # every item of the group in view is drawn: count what passes
                    label = f"{int(passed.sum())} of {count}"
            traces.append(
                {
                    "type": "scattergl",
                    "mode": "markers",
                    "name": f"{name} ({label})",
                    "x": _typed(x[rows]),
                    "y": _typed(y[rows]),
                    "marker": marker,
                    "hoverinfo": "none",
                }
            )
    return {
        "data": traces,
        "layout": {
            "dragmode": "lasso",
            "hovermode": "closest",
            "uirevision": color_by,
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "plot_bgcolor": "#fbfbfd",
            "paper_bgcolor": "white",
            "xaxis": {"visible": False},
            "yaxis": {"visible": False, "scaleanchor": "x"},
            "legend": {"itemsizing": "constant", "bgcolor": "rgba(255,255,255,0.8)", "font": {"size": 11},
                       "y": 0.93, "yanchor": "top"},
        },
    }


def _row_of(point: dict[str, Any], rows: list[np.ndarray]) -> int | None:
    """Frame row of an event point (``curveNumber``, ``pointNumber``), or None."""
    try:
        curve, number = int(point["curveNumber"]), int(point["pointNumber"])
    except (KeyError, TypeError, ValueError):
        return None
    if not 0 <= curve < len(rows) or not 0 <= number < len(rows[curve]):
        return None
    return int(rows[curve][number])


def tooltip(
    frame: pd.DataFrame, rows: list[np.ndarray], hover_data: dict[str, Any] | None, names: dict[int, str] | None = None
) -> tuple[bool, Any, Any]:
    """``(show, bbox, children)`` of the hover tooltip for a ``hoverData`` event.

    ``rows`` is :func:`trace_rows` of the figure that was hovered.
    """
    names = names or {}
    if not hover_data or not hover_data.get("points"):
        return False, None, None
    point = hover_data["points"][0]
    row = _row_of(point, rows)
    if row is None or not 0 <= row < len(frame):
        return False, None, None
    rec = frame.iloc[row]
    lines: list[Any] = [html.Div(rec["label"], className="fw-semibold")]
    if "cluster" in frame.columns and rec["cluster"] >= 0:
        c = int(rec["cluster"])
        lines.append(html.Div(f"cluster {c} · {names.get(c, f'cluster {c}')}", className="small"))
        conf = rec["confidence"]
        lines.append(
            html.Div(
                f"confidence {conf:.2f}" + (" · novel" if rec["novel"] else ""),
                className="small text-muted",
            )
        )
    children = html.Div(
        [html.Img(src=thumb_url(rec["item_id"]), className="tooltip-thumb", id=ids.HOVER_THUMB), *lines],
        className="map-tooltip",
        id=ids.MAP_TOOLTIP_BODY,
    )
    return True, point.get("bbox"), children


def selected_ids(frame: pd.DataFrame, rows: list[np.ndarray], selected_data: dict[str, Any] | None,
                 keep: np.ndarray | None = None) -> list[str]:
    """Item ids of a box or lasso selection (``selectedData``), in frame order, no duplicates;
    with ``keep`` ((n_rows,) bool), only the points that pass the filter.

    On a large map (``map_view.is_large``) the lasso polygon or box is tested against every
    item, so a selection on an aggregated view still yields every item inside it.
    """
    if keep is not None and len(keep) != len(frame):
        keep = None
    if map_view.is_large(len(frame)):  # the figure drew a part of the map: resolve the polygon on every item
        inside = map_view.selection_rows(frame["x"].to_numpy(np.float32), frame["y"].to_numpy(np.float32), selected_data)
        if inside is not None:
            inside = np.asarray(inside)
            if keep is not None:
                inside = inside[keep[inside]]
            return frame["item_id"].iloc[inside].tolist()
    if not selected_data or not selected_data.get("points"):
        return []
    picked = sorted({r for r in (_row_of(p, rows) for p in selected_data["points"]) if r is not None and 0 <= r < len(frame)})
    if keep is not None:
        picked = [r for r in picked if keep[r]]
    return frame["item_id"].iloc[picked].tolist()


def keeps_tray(frame: pd.DataFrame, selected_data: Any) -> bool:
    """Whether a ``selectedData`` change leaves the tray as it is: on a large map, one holding
    no lasso or box (the figure redrawn for a zoom or pan drops plotly's selection)."""
    if not map_view.is_large(len(frame)):
        return False
    return not (isinstance(selected_data, dict) and (selected_data.get("lassoPoints") or selected_data.get("range")))


def clicked_href(frame: pd.DataFrame, rows: list[np.ndarray], click_data: dict[str, Any] | None) -> str | None:
    """The item page of a clicked map point (``clickData``), or None."""
    if not click_data or not click_data.get("points"):
        return None
    row = _row_of(click_data["points"][0], rows)
    if row is None or not 0 <= row < len(frame):
        return None
    return with_collection(f"/item/{frame['item_id'].iloc[row]}")


def tray_summary(n: int) -> str:
    """The tray's heading for ``n`` selected items."""
    if n == 0:
        return "Draw a lasso or a box on the map to collect photos here."
    text = f"{n} photo{'s' if n != 1 else ''} selected" + (f" (first {TRAY_SHOWN} shown)" if n > TRAY_SHOWN else "")
    return text + (f"; only the first {MAX_TRAY_ITEMS} can be saved" if n > MAX_TRAY_ITEMS else "")


def save_tray(ws: Workspace, item_ids: list[str], action: str, name: str | None,
              scratch: str | None = None) -> tuple[str, str]:
    """Save the tray as a tag or as direction examples; returns ``(message, bootstrap colour)``.

    ``action`` is ``"tag"``, ``"positive"`` or ``"negative"``. Ids not in the catalog are dropped;
    a tray of more than ``MAX_TRAY_ITEMS`` ids is refused before anything else.
    ``scratch``: a viewer's scratch id; the tray then goes to their own space
    (:class:`core.scratch.ScratchSpace`), never to the shared annotations.
    """
    if len(item_ids or []) > MAX_TRAY_ITEMS:
        return f"The tray can save at most {MAX_TRAY_ITEMS} photos at once; select fewer.", "warning"
    cat = catalog(ws)
    kept = [i for i in item_ids or [] if i in cat]
    if not kept:
        return "Select some photos on the map first.", "warning"
    if not name or not name.strip():
        return "Give it a name first.", "warning"
    repo: Annotations | ScratchSpace = (Annotations(ws.annotations_path) if scratch is None
                                        else ScratchSpace(ws.annotations_path, scratch))
    mine = "" if scratch is None else " Saved in your own space: only you see it, for a day."
    try:
        if action == "tag":
            new = repo.add_tag(kept, name)
            return f"Tagged {len(kept)} photo(s) “{name.strip()}” ({new} new).{mine}", "success"
        if action in ("positive", "negative"):
            d = repo.add_direction_examples(name, kept, positive=action == "positive")
            return direction_status(d.name, len(d.positive_ids), len(d.negative_ids)) + mine, "success"
    except StyleAtlasError as exc:
        return str(exc), "danger"
    return f"Unknown action {action!r}.", "danger"


def direction_status(name: str, n_pos: int, n_neg: int, minimum: int = MIN_DIRECTION_EXAMPLES) -> str:
    """What a direction's example sets hold and how many more it needs."""
    text = f"Direction “{name}”: {n_pos} positive, {n_neg} negative example(s)."
    need = [f"{minimum - n} more {side}" for side, n in (("positive", n_pos), ("negative", n_neg)) if n < minimum]
    if need:
        return text + f" It needs at least {minimum} on each side: add " + " and ".join(need) + "."
    return text + " Enough to use it: it is a slider on the Search page."
