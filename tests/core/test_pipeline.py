import json

import numpy as np
import pytest

from core.cli import main
from core.embed.artifact import load_features
from core.workspace import Workspace


@pytest.mark.backbone
@pytest.mark.umap
def test_run_builds_every_artifact_with_its_parents(small_workspace: Workspace):
    ws = small_workspace
    items = ws.items()
    assert len(items) == 6 * 18 + 4
    fs = load_features(ws)
    assert fs.ids.tolist() == items["item_id"].tolist()
    assert fs.features.shape == (len(items), 1280) and fs.views.shape == (len(items), 2, 1280)
    assert np.isfinite(fs.features).all()
    feat = ws.record("features/efficientnet-lite0")
    assert feat["parents"] == {"items": ws.version("items")}
    assert feat["config"]["spec"]["dim"] == 1280 and feat["config"]["n_views"] == 2
    assert ws.has("features/colour-histogram")
    proj = ws.record("projection/default")
    assert proj["parents"] == {"features/efficientnet-lite0": feat["version"]}
    # the 2×2-grid features come from the same pass and are what the clustering used
    grid = load_features(ws, "efficientnet-lite0-2x2")
    assert grid.ids.tolist() == fs.ids.tolist() and grid.features.shape == (len(items), 5120)
    assert grid.views.shape == (len(items), 2, 5120)
    grid_version = ws.version("features/efficientnet-lite0-2x2")
    assert ws.record("clusters/default")["parents"] == {"features/efficientnet-lite0-2x2": grid_version}


@pytest.mark.backbone
def test_rerun_on_an_unchanged_catalog_recomputes_nothing(small_workspace: Workspace, demo_subset_csv, capsys, tmp_path):
    code = main(["embed", "-w", str(small_workspace.root), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["computed"] == 0 and out["cached"] == out["total"]
