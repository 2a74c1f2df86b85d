"""The ONNX query models (``serving/default``): equal to the torch path, and the web process's
query path never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import MissingArtifactError
from core.serving.export import artifact_name, export_serving
from core.serving.models import ENGINE_ENV, grid_pool, serving_models
from core.workspace import Workspace
from tests.conftest import DEMO, REPO, demo_rows

pytestmark = pytest.mark.backbone
MIN_COSINE = 0.999


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _demo_photos(n: int = 12) -> list[Image.Image]:
    """``n`` bundled demo photos spread over the catalog."""
    rows = demo_rows()
    step = max(1, len(rows) // n)
    return [Image.open(DEMO / r["path"]).convert("RGB") for r in rows[::step][:n]]


def test_the_pipeline_writes_the_serving_artifact(small_workspace: Workspace) -> None:
    folder = small_workspace.artifact_dir(artifact_name())
    desc = json.loads((folder / "serving.json").read_text())
    assert (folder / "backbone.onnx").is_file()
    assert desc["backbone"] == "efficientnet-lite0" and desc["grids"]["efficientnet-lite0-2x2"] == 2
    assert desc["parents"]["similarity/default"] == small_workspace.version("similarity/default")
    assert desc["cluster"]["run"] == "default"
    assert small_workspace.record(artifact_name())["parents"] == desc["parents"]


def test_onnx_query_models_match_torch_on_demo_photos(small_workspace: Workspace) -> None:
    from core.cluster.assign import assign_features
    from core.embed.onthefly import embed_pil
    from core.similarity.artifact import load_similarity

    models = serving_models(small_workspace)
    assert models is not None
    photos = _demo_photos()
    grid = "efficientnet-lite0-2x2"
    ref = embed_pil(photos, "efficientnet-lite0", also=(grid,), runtime="fp32")
    got = models.features(photos, ("efficientnet-lite0", grid))
    assert _cosine(got["efficientnet-lite0"], ref.features).min() >= MIN_COSINE
    assert _cosine(got[grid], ref.siblings[grid]).min() >= MIN_COSINE
    art = load_similarity(small_workspace)
    served_ref = art.embedder().transform(ref.features)
    assert _cosine(models.head.transform(got["efficientnet-lite0"]), served_ref).min() >= MIN_COSINE
    assert models.cluster is not None
    mine = models.cluster.assign(got[grid])
    theirs = assign_features(small_workspace, ref.siblings[grid], "default")
    assert mine["novel"].tolist() == [a.outlier for a in theirs]
    assert [int(j) for j, a in zip(mine["labels"], theirs, strict=True) if not a.outlier] == \
        [a.cluster for a in theirs if not a.outlier]


def test_grid_pool_is_torch_adaptive_average_pooling() -> None:
    import torch
    from torch.nn import functional as F

    fmap = np.random.default_rng(0).normal(size=(2, 5, 7, 7)).astype(np.float32)
    for g in (1, 2, 3):
        want = F.adaptive_avg_pool2d(torch.from_numpy(fmap), g).flatten(1).numpy()
        np.testing.assert_allclose(grid_pool(fmap, g), want, rtol=1e-5, atol=1e-6)


def test_web_query_path_never_imports_torch(small_workspace: Workspace) -> None:
    """The app (every page module), an upload query, a slider move and a URL-less query by path
    in a fresh process: torch, umap, numba and scikit-learn are never imported."""
    photo = DEMO / demo_rows()[3]["path"]
    script = textwrap.dedent(f"""
        import sys
        import app  # noqa: F401 - the whole app, every page
        from components import search
        from core.similarity.query import similar, warm_up
        from core.workspace import Workspace
        ws = Workspace({str(small_workspace.root)!r}, create=False)
        warm_up(ws)
        q = search.query_from_bytes(ws, open({str(photo)!r}, "rb").read())
        assert q["cluster"] is not None, q
        names = [d["key"] for d in search.directions(ws)[0]]
        hits = search.search(ws, q, {{names[0]: 0.5}} if names else {{}})
        assert hits
        r = similar(ws, path={str(photo)!r}, k=5)
        assert r.results and r.cluster is not None, r
        heavy = [m for m in ("torch", "umap", "numba", "sklearn") if m in sys.modules]
        print("HEAVY", heavy)
        sys.exit(1 if heavy else 0)
    """)
    env = {**os.environ, "STYLE_ATLAS_WORKSPACE": str(small_workspace.root), "PYTHONPATH": str(REPO)}
    env.pop(ENGINE_ENV, None)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "HEAVY []" in proc.stdout


def test_artifacts_are_memory_mapped_read_only(small_workspace: Workspace) -> None:
    from core.embed.artifact import load_features
    from core.similarity.artifact import loaded

    art, _ = loaded(small_workspace)
    assert isinstance(art.embeddings, np.memmap) and not art.embeddings.flags.writeable
    fs = load_features(small_workspace, "efficientnet-lite0")
    assert isinstance(fs.features, np.memmap) and not fs.features.flags.writeable


def _fake(ws: Workspace, name: str, parents: dict[str, int] | None = None, config: dict | None = None) -> None:
    with ws.write_artifact(name, config or {}, parents) as tmp:
        (tmp / "x").write_text("x")


def test_stale_or_forced_serving_models_fall_back_to_torch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.serving import models

    ws = Workspace(tmp_path / "ws")
    _fake(ws, "similarity/default")
    _fake(ws, "serving/default", {"similarity/default": 1}, {"format": models.FORMAT})
    assert models._current(ws, "default") == 1
    monkeypatch.setattr(models, "_load", lambda root, run, version: ("loaded", version))
    assert serving_models(ws) == ("loaded", 1)
    monkeypatch.setenv(ENGINE_ENV, "torch")
    assert serving_models(ws) is None
    monkeypatch.delenv(ENGINE_ENV)
    _fake(ws, "similarity/default")  # rebuilt: the export is stale
    assert serving_models(ws) is None
    _fake(ws, "serving/default", {"similarity/default": 2}, {"format": models.FORMAT + 1})  # another format
    assert serving_models(ws) is None


def test_export_without_a_similarity_artifact_names_the_command(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(MissingArtifactError, match="python -m core similarity"):
        export_serving(ws)
