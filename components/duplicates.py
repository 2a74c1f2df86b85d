"""The Duplicates page's logic: groups at the stylist's threshold, keep one, hide the rest.

Nothing from the browser is trusted: the threshold is clamped to the slider's range, and a
"keep" names only the keeper; the server finds its group again at that threshold and hides
the others (:mod:`core.hidden`, reversible; nothing is deleted).
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import html

from components import ids, ui
from components.data import catalog, hidden_ids, is_item_id
from core import duplicates, hidden
from core.errors import StyleAtlasError
from core.workspace import Workspace

MAX_GROUPS = 60  # groups drawn at once (largest first)


def clean_threshold(value: object) -> float:
    """The slider's value, clamped to the allowed range (the default for anything else)."""
    try:
        th = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return duplicates.DEFAULT_THRESHOLD
    if not np.isfinite(th):
        return duplicates.DEFAULT_THRESHOLD
    return float(np.clip(th, duplicates.MIN_THRESHOLD, duplicates.MAX_THRESHOLD))


def groups(ws: Workspace, threshold: object) -> list[list[str]]:
    """Near-duplicate groups among the visible items at ``threshold``, largest first."""
    return duplicates.duplicate_groups(ws, clean_threshold(threshold), skip=hidden_ids(ws))


def keep(ws: Workspace, keeper: object, threshold: object) -> tuple[str, str]:
    """Keep ``keeper`` and hide the rest of its group (the caller checked the editor role)."""
    if not is_item_id(keeper) or keeper not in catalog(ws):
        return "That item is not in this catalog.", "danger"
    group = next((g for g in groups(ws, threshold) if keeper in g), None)
    if group is None:
        return "That item has no duplicates at this threshold any more.", "warning"
    try:
        hidden.hide_duplicates(ws.annotations_path, str(keeper), group)
    except StyleAtlasError as exc:
        return str(exc), "danger"
    n = len(group) - 1
    return f"Kept one, hid {n} duplicate{'s' if n != 1 else ''} (nothing deleted; “Show again” brings them back).", "success"


def restore(ws: Workspace, keeper: object) -> tuple[str, str]:
    """Bring back the items hidden behind ``keeper``."""
    if not is_item_id(keeper):
        return "That item is not in this catalog.", "danger"
    try:
        n = hidden.unhide(ws.annotations_path, [str(keeper)])
    except StyleAtlasError as exc:
        return str(exc), "danger"
    return f"{n} item{'s' if n != 1 else ''} back in view.", "success"


def group_view(ws: Workspace, found: list[list[str]], editor: bool) -> Any:
    """Each group as a row of cards side by side, each with "Keep this"."""
    if not found:
        return ui.empty_state("No duplicates at this threshold", "Lower the threshold to find looser copies.",
                              icon="✓", id=ids.DUP_GROUPS + "-empty")
    cat = catalog(ws)
    rows = []
    for n, group in enumerate(found[:MAX_GROUPS]):
        cards = [ui.item_card(i, cat.label(i) or "unlabelled",
                              extra=dbc.Button("Keep this", id={"type": ids.DUP_KEEP_TYPE, "item": i}, size="sm",
                                               color="primary", outline=True, class_name="mt-1 py-0",
                                               disabled=not editor))
                 for i in group]
        rows.append(dbc.Card([dbc.CardHeader(f"Group {n + 1} · {len(group)} photos", class_name="small"),
                              dbc.CardBody(ui.gallery(cards, min_width=130), class_name="p-2")],
                             class_name="mb-3 shadow-sm", id={"type": ids.DUP_GROUP_TYPE, "group": n}))
    return html.Div(rows)


def hidden_view(ws: Workspace, editor: bool) -> Any:
    """The keepers with what is hidden behind them, each with "Show again"."""
    by_keeper = hidden.hidden_by_keeper(ws.annotations_path)
    if not by_keeper:
        return html.P("Nothing hidden.", className="small text-muted")
    cat = catalog(ws)
    rows = []
    for keeper, items in by_keeper.items():
        rows.append(html.Div(
            [html.Span(f"{cat.label(keeper) or 'unlabelled'} ({keeper[:6]}…) hides {len(items)}", className="small me-2"),
             dbc.Button("Show again", id={"type": ids.DUP_UNHIDE_TYPE, "item": keeper}, size="sm", color="link",
                        class_name="p-0 small", disabled=not editor)],
            className="mb-1"))
    return html.Div(rows)


def summary(found: list[list[str]], threshold: float) -> str:
    n_items = sum(len(g) for g in found)
    shown = f" (the {MAX_GROUPS} largest shown)" if len(found) > MAX_GROUPS else ""
    return f"{len(found)} groups, {n_items} photos at similarity ≥ {threshold:.2f}{shown}"
