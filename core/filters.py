"""The filter bar's logic: which items pass a filter, the filter to and from a URL, the choices.

A :class:`Filter` holds one set of accepted values per facet: catalog label, cluster, tag,
board, colour family, novelty, and any categorical or numeric column the catalog brought. An
item passes when it matches every facet that is set (an empty facet accepts everything); within a
facet any accepted value will do. Filters travel in the URL (:func:`to_params`,
:func:`parse_params`); nothing in a URL is trusted: sizes are capped before work and unknown
columns, malformed numbers and out-of-range values are dropped with a note saying so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.colour import COLOUR_FAMILIES

__all__ = ["MAX_CATEGORIES", "NOVELTY", "PREFIX", "Facets", "Filter", "facets", "mask", "parse_params", "to_params"]

PREFIX = "f_"  # URL parameters of the filter: f_label, f_cluster, f_tag, f_board, f_colour, f_novelty, f_col_<name>, f_num_<name>
SEP = "|"
RANGE_SEP = "~"
NOVELTY = ("any", "novel", "typical")
MAX_VALUES = 50  # accepted values per facet
MAX_VALUE_LEN = 100
MAX_PARAMS = 40
MAX_CATEGORIES = 40  # a text column with more distinct values is not offered as a facet


@dataclass(frozen=True)
class Filter:
    """Accepted values per facet (empty: any). ``columns``: ``((column, values), ...)`` of
    categorical catalog columns; ``ranges``: ``((column, low, high), ...)`` of numeric ones
    (None: open end)."""

    labels: tuple[str, ...] = ()
    clusters: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    boards: tuple[int, ...] = ()
    colours: tuple[str, ...] = ()
    novelty: str = "any"
    columns: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ranges: tuple[tuple[str, float | None, float | None], ...] = ()

    def is_empty(self) -> bool:
        return not (self.labels or self.clusters or self.tags or self.boards or self.colours or self.columns
                    or self.ranges or self.novelty != "any")

    def describe(self) -> str:
        """A short sentence of what the filter keeps (for a page's summary)."""
        parts = []
        for name, values in (("label", self.labels), ("cluster", self.clusters), ("tag", self.tags),
                             ("board", self.boards), ("colour", self.colours)):
            if values:
                parts.append(f"{name} {' or '.join(map(str, values))}")
        if self.novelty != "any":
            parts.append(self.novelty)
        parts += [f"{c} {' or '.join(v)}" for c, v in self.columns]
        parts += [f"{c} {'' if lo is None else f'≥ {lo:g}'}{' and ' if lo is not None and hi is not None else ''}"
                  f"{'' if hi is None else f'≤ {hi:g}'}" for c, lo, hi in self.ranges]
        return "; ".join(parts)


@dataclass(frozen=True)
class Facets:
    """What a filter bar offers for a catalog.

    labels, colours: values present (most frequent first); clusters: ``{id: name}``;
    tags: ``{tag: count}``; boards: ``{id: name}``; categorical: ``{column: values}``;
    numeric: ``{column: (min, max)}``; has_novelty: whether the clustering flags novel items.
    """

    labels: list[str] = field(default_factory=list)
    clusters: dict[int, str] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    boards: dict[int, str] = field(default_factory=dict)
    colours: list[str] = field(default_factory=list)
    categorical: dict[str, list[str]] = field(default_factory=dict)
    numeric: dict[str, tuple[float, float]] = field(default_factory=dict)
    has_novelty: bool = False


def _text_values(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str)


def facets(table: pd.DataFrame, catalog_columns: list[str], tags: Mapping[str, int] | None = None,
           boards: Mapping[int, str] | None = None, cluster_names: Mapping[int, str] | None = None) -> Facets:
    """The choices of a filter bar over ``table`` (:func:`core.item_table.item_table` columns).

    ``catalog_columns``: the columns the catalog CSV brought; numeric ones become ranges, text
    ones with at most ``MAX_CATEGORIES`` distinct values become choices, others are not offered.
    """
    has_clusters = "cluster" in table and bool(table["cluster"].notna().any())
    out = Facets(tags=dict(tags or {}), boards=dict(boards or {}), has_novelty=has_clusters and "novel" in table)
    if "label" in table:
        counts = _text_values(table["label"]).replace("", "unlabelled").value_counts()
        out.labels.extend(counts.index.tolist())
    if has_clusters:
        names = cluster_names or {}
        out.clusters.update({int(c): names.get(int(c), f"cluster {int(c)}")
                             for c in sorted(table["cluster"].dropna().unique())})
    if "colour_family" in table:
        present = set(table["colour_family"].astype(str))
        out.colours.extend(c for c in COLOUR_FAMILIES if c in present)
    for col in catalog_columns:
        if col not in table or col == "label":
            continue
        values = table[col]
        if pd.api.types.is_bool_dtype(values):
            continue
        if pd.api.types.is_numeric_dtype(values):
            finite = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            finite = finite[np.isfinite(finite)]
            if finite.size and finite.min() < finite.max():
                out.numeric[col] = (float(finite.min()), float(finite.max()))
            continue
        distinct = _text_values(values).replace("", np.nan).dropna().value_counts()
        if 1 < len(distinct) <= MAX_CATEGORIES:
            out.categorical[col] = distinct.index.tolist()
    return out


def mask(table: pd.DataFrame, f: Filter, tag_members: Mapping[str, set[str]] | None = None,
         board_members: Mapping[int, set[str]] | None = None) -> np.ndarray:
    """Which rows of ``table`` pass ``f``.

    Parameters
    ----------
    table : one row per item with item_id, label, cluster, novel, colour_family and catalog columns
        (those the filter names; a facet on a missing column passes nothing).
    tag_members, board_members : ``{tag: item ids}``, ``{board id: item ids}``.

    Returns
    -------
    keep : (n_rows,) bool
    """
    n = len(table)
    keep = np.ones(n, dtype=bool)
    if f.is_empty():
        return keep

    def col(name: str) -> pd.Series | None:
        return table[name] if name in table else None

    if f.labels:
        labels = col("label")
        keep &= False if labels is None else _text_values(labels).replace("", "unlabelled").isin(f.labels).to_numpy()
    if f.clusters:
        clusters = col("cluster")
        keep &= False if clusters is None else clusters.isin(list(f.clusters)).fillna(False).to_numpy(dtype=bool)
    ids = (table["item_id"] if "item_id" in table else pd.Series(table.index)).tolist()

    def member_of(members: set[str]) -> np.ndarray:  # set lookups: several times pandas' isin on strings
        return np.fromiter((i in members for i in ids), dtype=bool, count=n)

    if f.tags:
        keep &= member_of(set().union(*[(tag_members or {}).get(t, set()) for t in f.tags]))
    if f.boards:
        keep &= member_of(set().union(*[(board_members or {}).get(b, set()) for b in f.boards]))
    if f.colours:
        fam = col("colour_family")
        keep &= False if fam is None else fam.astype(str).isin(f.colours).to_numpy()
    if f.novelty != "any":
        novel = col("novel")
        if novel is None:
            keep &= False
        else:
            flags = novel.fillna(False).to_numpy(dtype=bool)
            keep &= flags if f.novelty == "novel" else ~flags
    for name, values in f.columns:
        c = col(name)
        keep &= False if c is None else _text_values(c).isin(values).to_numpy()
    for name, lo, hi in f.ranges:
        c = col(name)
        if c is None:
            keep &= False
            continue
        x = pd.to_numeric(c, errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(x)
        if lo is not None:
            ok &= x >= lo
        if hi is not None:
            ok &= x <= hi
        keep &= ok
    return keep


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def to_params(f: Filter) -> dict[str, str]:
    """The URL query parameters of ``f`` (empty facets omitted)."""
    out: dict[str, str] = {}
    for key, values in (("label", f.labels), ("cluster", f.clusters), ("tag", f.tags), ("board", f.boards),
                        ("colour", f.colours)):
        if values:
            out[PREFIX + key] = SEP.join(map(str, values))
    if f.novelty != "any":
        out[PREFIX + "novelty"] = f.novelty
    for name, values in f.columns:
        out[f"{PREFIX}col_{name}"] = SEP.join(values)
    for name, lo, hi in f.ranges:
        out[f"{PREFIX}num_{name}"] = f"{_fmt(lo)}{RANGE_SEP}{_fmt(hi)}"
    return out


def _values(raw: Any) -> list[str]:
    text = str(raw)[: MAX_VALUES * (MAX_VALUE_LEN + 1)]
    out: list[str] = []
    for v in text.split(SEP):
        v = v.strip()
        if v and len(v) <= MAX_VALUE_LEN and v not in out:
            out.append(v)
    return out[:MAX_VALUES]


def _number(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    x = float(text)  # ValueError for junk
    if not math.isfinite(x):
        raise ValueError(text)
    return x


def parse_params(params: Mapping[str, Any], categorical: Mapping[str, Any] | None = None,
                 numeric: Mapping[str, Any] | None = None) -> tuple[Filter, list[str]]:
    """The filter a URL's query parameters describe, and notes on what was dropped.

    Only parameters starting with ``PREFIX`` are read, at most ``MAX_PARAMS`` of them.
    ``categorical`` / ``numeric``: the catalog columns that may be filtered (others are dropped).
    """
    notes: list[str] = []
    mine = [(str(k), v) for k, v in params.items() if str(k).startswith(PREFIX)]
    if len(mine) > MAX_PARAMS:
        notes.append(f"only the first {MAX_PARAMS} filter parameters are used")
        mine = mine[:MAX_PARAMS]
    fields: dict[str, Any] = {}
    columns: list[tuple[str, tuple[str, ...]]] = []
    ranges: list[tuple[str, float | None, float | None]] = []
    for key, raw in mine:
        name = key[len(PREFIX):]
        if name in ("label", "tag", "colour"):
            values = _values(raw)
            if name == "colour":
                bad = [v for v in values if v not in COLOUR_FAMILIES]
                if bad:
                    notes.append(f"unknown colour family {bad[0][:20]!r} ignored")
                values = [v for v in values if v in COLOUR_FAMILIES]
            fields[{"label": "labels", "tag": "tags", "colour": "colours"}[name]] = tuple(values)
        elif name in ("cluster", "board"):
            nums = [v for v in _values(raw) if v.lstrip("-").isdigit() and len(v) <= 9]
            if len(nums) < len(_values(raw)):
                notes.append(f"a {name} that is not a number was ignored")
            fields["clusters" if name == "cluster" else "boards"] = tuple(int(v) for v in nums)
        elif name == "novelty":
            value = str(raw).strip()
            if value in NOVELTY:
                fields["novelty"] = value
            else:
                notes.append(f"novelty must be one of {', '.join(NOVELTY)}")
        elif name.startswith("col_"):
            col = name[4:]
            if categorical is not None and col not in categorical:
                notes.append(f"no filterable column {col[:40]!r}")
                continue
            values = _values(raw)
            if values:
                columns.append((col, tuple(values)))
        elif name.startswith("num_"):
            col = name[4:]
            if numeric is not None and col not in numeric:
                notes.append(f"no numeric column {col[:40]!r}")
                continue
            lo_text, _, hi_text = str(raw)[:60].partition(RANGE_SEP)
            try:
                lo, hi = _number(lo_text), _number(hi_text)
            except ValueError:
                notes.append(f"the range of {col[:40]!r} is not two numbers")
                continue
            if lo is not None and hi is not None and lo > hi:
                lo, hi = hi, lo
            if lo is not None or hi is not None:
                ranges.append((col, lo, hi))
        else:
            notes.append(f"unknown filter {key[:40]!r} ignored")
    return Filter(**fields, columns=tuple(columns), ranges=tuple(ranges)), notes
