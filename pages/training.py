"""Training: per-epoch history of the clustering run and of the similarity run, as charts and tables."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import html

from components import ids, training, ui
from components.data import open_workspace, runs
from core.workspace import build_command

dash.register_page(__name__, path="/training", name="Training", title="Style Atlas · Training", nav_order=3)


def _clustering(ws: Any, run_id: str) -> Any:
    hist = training.clustering_history(ws, run_id)
    if hist is None or hist.empty:
        return ui.empty_state("No clustering run", "Train the adaptive clustering to see its history.",
                              command=build_command(f"clusters/{run_id}", ws.root), id=ids.TRAINING_CLUSTERS_MISSING)
    return html.Div(
        [
            training.chart_grid(hist, training.CLUSTER_CHARTS, "cluster"),
            dbc.Card([dbc.CardHeader("Clustering history"), dbc.CardBody(training.history_table(hist, ids.CLUSTER_HISTORY),
                                                                          class_name="p-0")], class_name="shadow-sm"),
        ]
    )


def _similarity(ws: Any, run_id: str) -> Any:
    hist, evaluation = training.similarity_history(ws, run_id)
    if hist is None or hist.empty:
        return ui.empty_state("No similarity run", "Train the similarity head to see its history.",
                              command=build_command(f"similarity/{run_id}", ws.root), id=ids.TRAINING_SIMILARITY_MISSING)
    table = training.evaluation_table(evaluation)
    served = training.served_text(evaluation)
    return html.Div(
        [
            dbc.Alert(served, color="info", class_name="small py-2", id="similarity-served") if served else None,
            training.chart_grid(hist, training.SIMILARITY_CHARTS, "similarity"),
            dbc.Row(
                [
                    dbc.Col(dbc.Card([dbc.CardHeader("Frozen features vs tuned embedding"), dbc.CardBody(table)],
                                     class_name="shadow-sm"), lg=4) if table is not None else None,
                    dbc.Col(dbc.Card([dbc.CardHeader("Similarity history"),
                                      dbc.CardBody(training.history_table(hist, ids.SIMILARITY_HISTORY), class_name="p-0")],
                                     class_name="shadow-sm"), lg=8 if table is not None else 12),
                ],
                class_name="g-3",
            ),
        ]
    )


def layout(run: str | None = None, **_query: Any) -> html.Div:
    """Both runs' histories (``?run=<id>`` picks the clustering run)."""
    ws = open_workspace()
    header = ui.page_header("Training", "How the clustering and the similarity model learned, epoch by epoch.")
    if (guard := ui.page_guard(ws, header, ids.PAGE_TRAINING)) is not None or ws is None:
        return guard
    cluster_runs = runs(ws, "clusters")
    run_id = run if run in cluster_runs else (cluster_runs[0] if cluster_runs else "default")
    return html.Div(
        [
            header,
            dbc.Tabs(
                [
                    dbc.Tab(html.Div(_clustering(ws, run_id), className="mt-3"), label=f"Clustering ({run_id})", tab_id="clusters"),
                    dbc.Tab(html.Div(_similarity(ws, "default"), className="mt-3"), label="Similarity", tab_id="similarity"),
                ],
                active_tab="clusters",
            ),
        ],
        id=ids.PAGE_TRAINING,
    )
