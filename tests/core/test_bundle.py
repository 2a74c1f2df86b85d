"""A serving bundle: nothing left to build, nothing kept that only building needs."""

from __future__ import annotations

import json
from pathlib import Path

from core import pipeline
from core.bundle import BUNDLE_FILE, is_bundle, make_bundle, prune
from core.workspace import Workspace


def complete_workspace(root: Path) -> Workspace:
    """A workspace holding every artifact of the pipeline's steps (tiny stand-in files), two
    versions of the features, a feature cache, a checkpoint and a half-written folder."""
    ws = Workspace(root)
    for name in [pipeline.ITEMS, *(s.artifact for s in pipeline.steps())]:
        with ws.write_artifact(name, {"n": 1}) as tmp:
            (tmp / "data.bin").write_bytes(b"x" * 10)
    with ws.write_artifact(pipeline.DEFAULT_FEATURES, {"n": 2}) as tmp:
        (tmp / "data.bin").write_bytes(b"y" * 10)
    (ws.cache_dir / "clusters").mkdir(parents=True)
    (ws.cache_dir / "clusters" / "default-abc.pt").write_bytes(b"checkpoint")
    (ws.root / pipeline.DEFAULT_FEATURES / ".tmp-dead").mkdir()
    (ws.root / "thumbs").mkdir()
    (ws.root / "thumbs" / "a.jpg").write_bytes(b"jpg")
    return ws


def test_prune_keeps_only_what_serving_reads(tmp_path: Path) -> None:
    ws = complete_workspace(tmp_path / "demo")
    features = ws.root / pipeline.DEFAULT_FEATURES
    removed = prune(ws)
    assert "cache" in removed and not ws.cache_dir.exists()
    assert sorted(p.name for p in features.iterdir()) == [Path(str(ws.record(pipeline.DEFAULT_FEATURES)["path"])).name]
    assert (ws.root / "thumbs" / "a.jpg").exists()
    for name, _ in pipeline.required_artifacts():
        assert (ws.artifact_dir(name) / "data.bin").exists()


def test_bundle_of_a_complete_workspace_runs_no_step(tmp_path: Path) -> None:
    ws = complete_workspace(tmp_path / "demo")
    warmed: list[Path] = []
    report = make_bundle(ws, warm=lambda w: warmed.append(w.root))
    assert report.steps_run == [] and warmed == [ws.root]
    assert set(report.artifacts) == set(ws.names())
    assert json.loads((ws.root / BUNDLE_FILE).read_text())["artifacts"] == report.artifacts
    assert is_bundle(ws.root)


def test_a_bundle_starts_no_build(tmp_path: Path) -> None:
    """What the web process does on a restarted dyno: finds nothing missing, builds nothing."""
    from components.bootstrap import missing_artifacts, start_build

    ws = complete_workspace(tmp_path / "demo")
    make_bundle(ws, warm=lambda w: None)
    assert missing_artifacts(ws.root) == []
    assert start_build(ws.root, force=True) is None


def test_a_changed_workspace_is_no_longer_the_bundle(tmp_path: Path) -> None:
    ws = complete_workspace(tmp_path / "demo")
    assert not is_bundle(ws.root)
    make_bundle(ws, warm=lambda w: None)
    with ws.write_artifact("projection/default", {"n": 3}) as tmp:
        (tmp / "data.bin").write_bytes(b"z")
    assert not is_bundle(ws.root)
    (ws.root / BUNDLE_FILE).write_text("{not json")
    assert not is_bundle(ws.root)


def test_serving_a_bundle_uses_its_onnx_exports(tmp_path: Path, monkeypatch) -> None:
    from components.bootstrap import use_bundle

    monkeypatch.delenv("STYLE_ATLAS_ONNX_CACHE", raising=False)
    ws = complete_workspace(tmp_path / "demo")
    assert use_bundle(ws.root) is False
    make_bundle(ws, warm=lambda w: None)
    assert use_bundle(ws.root) is True
    import os

    assert os.environ["STYLE_ATLAS_ONNX_CACHE"] == str(ws.root / "onnx")



def test_cli_bundle_prints_json(tmp_path: Path, monkeypatch, capsys) -> None:
    """``python -m core bundle --json`` on a complete workspace: nothing to build, cache pruned."""
    from core.cli import main
    from core.similarity import query

    monkeypatch.setenv("STYLE_ATLAS_ONNX_CACHE", str(tmp_path / "onnx"))
    monkeypatch.setattr(query, "warm_up", lambda ws: None)  # stand-in files hold no real model to warm
    ws = complete_workspace(tmp_path / "demo")
    assert main(["bundle", "--workspace", str(ws.root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps_run"] == [] and "cache" in out["removed"] and is_bundle(ws.root)
