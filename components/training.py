"""The Training page's logic: per-epoch charts and tables of clustering and similarity runs."""

from __future__ import annotations

import json
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components import clusterdata, ids

# (column, title, y-axis range or None) of the clustering charts, in reading order.
CLUSTER_CHARTS: tuple[tuple[tuple[str, ...], str, list[float] | None], ...] = (
    (("k_before", "k_after"), "Number of clusters k", None),
    (("silhouette",), "Silhouette", None),
    (("mean_confidence",), "Mean confidence", [0, 1]),
    (("pseudo_label_acc",), "Accuracy on pseudo-labels", [0, 1]),
    (("novel",), "Novel samples", None),
    (("stability",), "Label stability", [0, 1.02]),
    (("acc", "nmi"), "ACC and NMI against catalog labels", [0, 1]),
)
SIMILARITY_CHARTS: tuple[tuple[tuple[str, ...], str, list[float] | None], ...] = (
    (("loss",), "Triplet loss", None),
    (("active_share",), "Share of active triplets", [0, 1]),
    (("partner_top1", "partner_top5", "partner_top10"), "Partner top-k accuracy (held out)", [0, 1.02]),
    (("label_precision_at_10",), "Label precision@10 (held out)", [0, 1]),
)
COLOURS = ("#2c3e50", "#18bc9c", "#e67e22", "#3498db")
TABLE_SKIP = {"f1", "cluster_sizes", "partner_source"}


def line_figure(history: pd.DataFrame, columns: tuple[str, ...], title: str, y_range: list[float] | None = None) -> dict[str, Any] | None:
    """A small line chart of ``columns`` against ``epoch``; None when none of them has data."""
    present = [c for c in columns if c in history.columns and history[c].notna().any()]
    if not present or "epoch" not in history.columns:
        return None
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": c.replace("_", " "),
            "x": history["epoch"].tolist(),
            "y": [None if pd.isna(v) else float(v) for v in history[c]],
            "line": {"color": COLOURS[n % len(COLOURS)], "width": 2, "shape": "hv" if c.startswith("k_") else "linear"},
            "marker": {"size": 5},
        }
        for n, c in enumerate(present)
    ]
    return {
        "data": traces,
        "layout": {
            "title": {"text": title, "font": {"size": 14}, "x": 0.02},
            "height": 240,
            "margin": {"l": 40, "r": 10, "t": 36, "b": 30},
            "plot_bgcolor": "white",
            "xaxis": {"title": {"text": "epoch"}, "gridcolor": "#eee", "dtick": 1 if len(history) <= 20 else None},
            "yaxis": {"gridcolor": "#eee", **({"range": y_range} if y_range else {})},
            "showlegend": len(present) > 1,
            "legend": {"orientation": "h", "y": 1.18, "x": 1, "xanchor": "right", "font": {"size": 10}},
        },
    }


def chart_grid(history: pd.DataFrame, charts: tuple[tuple[tuple[str, ...], str, list[float] | None], ...], prefix: str) -> dbc.Row:
    """The charts that have data, three to a row."""
    cols = []
    for n, (columns, title, y_range) in enumerate(charts):
        fig = line_figure(history, columns, title, y_range)
        if fig is not None:
            cols.append(dbc.Col(dbc.Card(dcc.Graph(figure=fig, config={"displayModeBar": False},
                                                   id=f"{prefix}-chart-{n}"), class_name="shadow-sm"), lg=4, md=6))
    return dbc.Row(cols, class_name="g-3 mb-3")


def history_table(history: pd.DataFrame, table_id: str) -> dbc.Table:
    """The history as a table (nested columns left out: any whose cells hold lists or dicts, such
    as the growth's split tests; numbers rounded)."""
    def nested(column: str) -> bool:
        return bool(history[column].map(lambda v: isinstance(v, (list, dict, tuple))).any())

    frame = history[[c for c in history.columns if c not in TABLE_SKIP and not nested(c)]].copy()
    for c in frame.columns:
        if pd.api.types.is_float_dtype(frame[c]):
            frame[c] = frame[c].round(4)
    frame.columns = [c.replace("_", " ") for c in frame.columns]
    return dbc.Table.from_dataframe(frame, striped=True, hover=True, size="sm", responsive=True, id=table_id,
                                    class_name="small mb-0")


def clustering_history(ws: Any, run_id: str = "default") -> pd.DataFrame | None:
    """Per-epoch records of clustering ``run_id`` (None without one)."""
    return clusterdata.history(ws, run_id)


def similarity_history(ws: Any, run_id: str = "default") -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """Per-epoch records and the frozen-vs-tuned evaluation of ``similarity/<run_id>``."""
    name = f"similarity/{run_id}"
    if not ws.has(name):
        return None, {}
    folder = ws.artifact_dir(name)
    hist = pd.DataFrame(json.loads((folder / "history.json").read_text())) if (folder / "history.json").exists() else None
    evaluation = json.loads((folder / "evaluation.json").read_text()) if (folder / "evaluation.json").exists() else {}
    return hist, evaluation


def served_text(evaluation: dict[str, Any]) -> str | None:
    """One sentence: which space Search serves (tuned or frozen) and why; None for an old run."""
    from core.similarity.served import served_sentence

    return served_sentence(evaluation)


def evaluation_table(evaluation: dict[str, Any]) -> dbc.Table | None:
    """Frozen features against the tuned embedding, metric by metric."""
    frozen, tuned = evaluation.get("frozen") or {}, evaluation.get("tuned") or {}
    metrics = [m for m in frozen if isinstance(frozen.get(m), int | float) and isinstance(tuned.get(m), int | float)]
    if not metrics:
        return None
    rows = [html.Tr([html.Td(m.replace("_", " ")), html.Td(f"{frozen[m]:.3f}"), html.Td(f"{tuned[m]:.3f}")]) for m in metrics]
    return dbc.Table([html.Thead(html.Tr([html.Th("held-out metric"), html.Th("frozen features"), html.Th("tuned")])),
                      html.Tbody(rows)], size="sm", bordered=False, hover=True, id=ids.SIMILARITY_EVALUATION,
                     class_name="small")
