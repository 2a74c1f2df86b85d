"""Overview summary: counts, labels, artifacts, and what to run where something is missing."""

from __future__ import annotations

from pathlib import Path

from components import overview
from components.bootstrap import ensure_workspace, missing_artifacts
from components.data import open_workspace
from core.workspace import Workspace


def _text(component) -> str:
    """All strings inside a Dash component tree."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(_text(c) for c in component)
    return _text(getattr(component, "children", None))


def test_summary_of_a_workspace(tiny_ws: Workspace) -> None:
    s = overview.summarise(open_workspace(), tiny_ws.root)
    assert s.exists and s.n_items == 6
    assert s.labels == {"Dress": 2, "Shoes": 2, "Hat": 1}
    assert s.unlabelled == 1
    assert s.backbones == ["efficientnet-lite0"]
    names = {a["name"] for a in s.artifacts}
    assert {"items", "features/efficientnet-lite0", "projection/default"} <= names
    missing = {m["name"]: m["command"] for m in s.missing}
    assert "clusters/default" in missing and "python -m core cluster" in missing["clusters/default"]
    assert len(s.samples) == 6  # all of them (fewer than SAMPLE_SIZE)
    text = _text(overview.render(s))
    assert "Photos" in text and "python -m core cluster" in text


def test_missing_workspace_says_what_to_run(tmp_path: Path) -> None:
    path = tmp_path / "nowhere"
    s = overview.summarise(open_workspace(path), path)
    assert not s.exists
    text = _text(overview.render(s))
    assert "No catalog yet" in text and f"python -m core run --workspace {path}" in text


def test_empty_workspace_says_what_to_run(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "empty")
    s = overview.summarise(open_workspace(ws.root), ws.root)
    assert s.exists and s.n_items == 0
    assert "python -m core run" in _text(overview.render(s))


def test_label_figure_orders_bars() -> None:
    fig = overview.label_figure({"Dress": 5, "Hat": 2}, unlabelled=1)
    assert fig["data"][0]["y"] == ["(unlabelled)", "Hat", "Dress"]
    assert fig["data"][0]["x"] == [1, 2, 5]


def test_missing_artifacts_and_no_build_for_a_named_workspace(tmp_path: Path) -> None:
    path = tmp_path / "mine"
    assert "items" in missing_artifacts(path)
    # a workspace the user named is never built behind their back
    assert ensure_workspace(path) == missing_artifacts(path)
    assert not (path / "manifest.json").exists()


def test_missing_steps_of_the_app_job(tiny_ws: Workspace) -> None:
    from components import jobs

    # catalog, features and a map are there; clustering, similarity, serving and palettes are not
    assert [name for name, _ in jobs.missing_steps(tiny_ws)] == ["clusters/default", "similarity/default", "serving/default",
                                                                 "palette/default"]


def test_no_job_without_features(tmp_path: Path) -> None:
    from components import jobs

    assert jobs.missing_steps(Workspace(tmp_path / "empty")) == []
