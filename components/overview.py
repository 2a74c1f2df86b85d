"""The overview page: the catalog at a glance, and what to run where something is missing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import dcc, html

from components import ids, ui
from components.data import catalog, hidden_ids, versions
from core import pipeline
from core.workspace import Workspace, build_command

SAMPLE_SIZE = 10


@dataclass
class Summary:
    """What the overview shows; built without any UI so it can be tested."""

    workspace: str
    exists: bool
    n_items: int = 0
    backbones: list[str] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)  # name, version, created, config source
    missing: list[dict[str, str]] = field(default_factory=list)  # name, purpose, command
    labels: dict[str, int] = field(default_factory=dict)  # label -> count, most frequent first
    unlabelled: int = 0
    samples: list[dict[str, str]] = field(default_factory=list)  # item_id, label


def summarise(ws: Workspace | None, path: str | Path) -> Summary:
    """Summarise a workspace (``ws`` None: missing or unreadable at ``path``)."""
    if ws is None:
        return Summary(
            workspace=str(path),
            exists=False,
            missing=[{"name": "items", "purpose": "everything", "command": f"python -m core run --workspace {path}"}],
        )
    present = versions(ws)
    manifest = ws.manifest()["artifacts"]
    artifacts = [
        {
            "name": name,
            "version": present[name],
            "created": str(manifest[name].get("created", "")).replace("T", " ")[:16],
            "from": ", ".join(f"{p} v{v}" for p, v in manifest[name].get("parents", {}).items()),
        }
        for name in sorted(present)
    ]
    missing = [
        {"name": name, "purpose": purpose, "command": build_command(name, ws.root)}
        for name, purpose in pipeline.required_artifacts()
        if name not in present
    ]
    cat = catalog(ws)
    labels: dict[str, int] = {}
    unlabelled = len(cat)
    if len(cat) and "label" in cat.frame.columns:
        col = cat.frame["label"].replace("", np.nan)
        counts = col.value_counts()
        labels = {str(k): int(v) for k, v in counts.items()}
        unlabelled = int(col.isna().sum())
    samples: list[dict[str, str]] = []
    if len(cat):
        rng = np.random.default_rng(0)
        pick = rng.choice(len(cat), size=min(SAMPLE_SIZE, len(cat)), replace=False)
        gone = hidden_ids(ws)
        for i in sorted(pick):
            item_id = str(cat.frame["item_id"].iat[int(i)])
            if item_id in gone:
                continue
            samples.append({"item_id": item_id, "label": cat.label(item_id) or "unlabelled"})
    return Summary(
        workspace=str(ws.root),
        exists=True,
        n_items=len(cat),
        backbones=[n.split("/", 1)[1] for n in sorted(present) if n.startswith("features/")],
        artifacts=artifacts,
        missing=missing,
        labels=labels,
        unlabelled=unlabelled,
        samples=samples,
    )


def label_figure(labels: dict[str, int], unlabelled: int = 0) -> dict[str, Any]:
    """Horizontal bar chart of the label distribution (a plotly figure dict)."""
    names = list(labels)[::-1]
    counts = [labels[n] for n in names]
    if unlabelled:
        names = ["(unlabelled)", *names]
        counts = [unlabelled, *counts]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": counts,
                "y": names,
                "marker": {"color": "#18bc9c"},
                "hovertemplate": "%{y}: %{x} photos<extra></extra>",
            }
        ],
        "layout": {
            "margin": {"l": 110, "r": 10, "t": 10, "b": 30},
            "height": max(220, 22 * len(names) + 40),
            "plot_bgcolor": "white",
            "xaxis": {"gridcolor": "#eee", "title": {"text": "photos"}},
            "yaxis": {"automargin": True},
        },
    }


def _empty(summary: Summary) -> html.Div:
    """The overview of a workspace without photos (being built, or never built)."""
    from components.bootstrap import building as is_building

    if is_building(summary.workspace):
        return ui.empty_state(
            "The catalog is being built",
            "Its photos appear here as soon as they are ingested; the banner above shows the progress.",
            icon="◇",
            id=ids.OVERVIEW_EMPTY,
        )
    return ui.empty_state(
        "No catalog yet",
        f"The workspace {summary.workspace} holds no photos. Build the demo catalog (every step) with:",
        command=f"python -m core run --workspace {summary.workspace}",
        icon="◇",
        id=ids.OVERVIEW_EMPTY,
    )


def _stats(summary: Summary) -> dbc.Row:
    return dbc.Row(
        [
            dbc.Col(ui.stat_card("Photos", f"{summary.n_items:,}", id=ids.STAT_ITEMS), md=3),
            dbc.Col(ui.stat_card("Labels", len(summary.labels), f"{summary.unlabelled} unlabelled"), md=3),
            dbc.Col(ui.stat_card("Backbones", ", ".join(summary.backbones) or "none"), md=3),
            dbc.Col(ui.stat_card("Artifacts", len(summary.artifacts), f"{len(summary.missing)} missing"), md=3),
        ],
        class_name="g-3 mb-4",
    )


def _missing(summary: Summary) -> dbc.Alert | None:
    """What is not built yet, each with the command that builds it (None: nothing missing)."""
    if not summary.missing:
        return None
    return dbc.Alert(
        [
            html.H5("Some parts are not built yet", className="alert-heading"),
            html.P("Pages that need them say so. Build them with:"),
            html.Ul(
                [
                    html.Li([html.Strong(m["name"]), f" — {m['purpose']}", ui.command_hint(m["command"])])
                    for m in summary.missing
                ],
                className="mb-0",
            ),
        ],
        color="warning",
        id=ids.OVERVIEW_MISSING,
    )


def _artifact_table(summary: Summary) -> dbc.Table:
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th("Artifact"), html.Th("Version"), html.Th("Built"), html.Th("From")])),
            html.Tbody(
                [
                    html.Tr([html.Td(html.Code(a["name"])), html.Td(f"v{a['version']}"), html.Td(a["created"]), html.Td(a["from"])])
                    for a in summary.artifacts
                ]
            ),
        ],
        hover=True,
        size="sm",
        class_name="mb-0",
        id=ids.ARTIFACT_TABLE,
    )


def render(summary: Summary) -> html.Div:
    """The overview's body from a :class:`Summary`."""
    if not summary.exists or summary.n_items == 0:
        return _empty(summary)
    samples = ui.gallery(
        [ui.item_card(s["item_id"], s["label"]) for s in summary.samples], min_width=130, id=ids.OVERVIEW_SAMPLES
    )
    labels = (dcc.Graph(figure=label_figure(summary.labels, summary.unlabelled), config={"displayModeBar": False},
                        id=ids.LABEL_CHART)
              if summary.labels else html.P("This catalog has no labels.", className="text-muted"))
    return html.Div(
        [
            _stats(summary),
            _missing(summary),
            dbc.Row(
                [
                    dbc.Col(dbc.Card([dbc.CardHeader("Labels in the catalog"), dbc.CardBody(labels)],
                                     class_name="shadow-sm h-100"), lg=5),
                    dbc.Col(dbc.Card([dbc.CardHeader("A few photos"), dbc.CardBody(samples)],
                                     class_name="shadow-sm h-100"), lg=7),
                ],
                class_name="g-3 mb-4",
            ),
            dbc.Card([dbc.CardHeader("What the workspace holds"), dbc.CardBody(_artifact_table(summary))],
                     class_name="shadow-sm mb-4"),
            html.P(["Workspace: ", html.Code(summary.workspace)], className="small text-muted"),
        ]
    )
