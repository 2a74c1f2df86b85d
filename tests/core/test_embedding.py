import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from core.augment import augmented_view, view_rng
from core.embed.artifact import load_features
from core.embed.onthefly import embed_pil
from core.embed.step import EmbedConfig, embed_workspace
from core.errors import MissingArtifactError
from core.images import ingest
from core.workspace import Workspace
from tests.conftest import REPO, make_image, write_subset_csv


def _colour_ws(tmp_path, n=6) -> Workspace:
    for i in range(n):
        make_image(tmp_path / "src" / f"{i}.png", colour=(40 * i, 255 - 40 * i, 7))
    ws = Workspace(tmp_path / "ws")
    ingest(ws, tmp_path / "src")
    return ws


def test_features_row_the_catalog_and_rerun_computes_nothing(tmp_path):
    ws = _colour_ws(tmp_path)
    cfg = EmbedConfig(backbone="colour-histogram", n_views=0, workers=0)
    first = embed_workspace(ws, cfg)
    assert (first.computed, first.cached) == (6, 0)
    fs = load_features(ws, "colour-histogram")
    assert fs.ids.tolist() == ws.items()["item_id"].tolist()
    assert fs.features.shape == (6, 512) and fs.features.dtype == np.float32
    np.testing.assert_allclose(fs.features.sum(axis=1), 1.0, rtol=1e-5)
    again = embed_workspace(ws, cfg)
    assert (again.computed, again.cached) == (0, 6)


def test_added_images_are_the_only_ones_computed(tmp_path):
    ws = _colour_ws(tmp_path, n=4)
    cfg = EmbedConfig(backbone="colour-histogram", n_views=0, workers=0)
    embed_workspace(ws, cfg)
    make_image(tmp_path / "src" / "new.png", colour=(1, 2, 250))
    ingest(ws, tmp_path / "src")
    rep = embed_workspace(ws, cfg)
    assert (rep.computed, rep.cached, rep.total) == (1, 4, 5)
    assert len(load_features(ws, "colour-histogram").ids) == 5


def test_views_are_deterministic_and_differ_from_the_original():
    image = Image.new("RGB", (120, 160), (20, 120, 220))
    image.paste((250, 250, 0), (10, 10, 60, 90))
    a = augmented_view(image, view_rng("abc", 1, 0))
    b = augmented_view(image, view_rng("abc", 1, 0))
    c = augmented_view(image, view_rng("abc", 2, 0))
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(c))


def test_load_features_before_embed_names_the_command(tmp_path):
    ws = _colour_ws(tmp_path, n=1)
    with pytest.raises(MissingArtifactError, match="python -m core embed .*--backbone efficientnet-lite2"):
        load_features(ws, "efficientnet-lite2")


def test_embed_without_items_names_the_ingest_command(tmp_path):
    with pytest.raises(MissingArtifactError, match="python -m core ingest"):
        embed_workspace(Workspace(tmp_path), EmbedConfig(backbone="colour-histogram"))


@pytest.mark.backbone
def test_work_before_kill_9_is_kept_and_matches_a_fresh_extraction(tmp_path):
    csv = write_subset_csv(tmp_path / "cat.csv", per_class=2, unlabelled=0)
    ws = Workspace(tmp_path / "ws")
    ingest(ws, csv)
    n = len(ws.items())
    cmd = [sys.executable, "-m", "core", "embed", "-w", str(ws.root), "--views", "0", "--batch-size", "4",
           "--workers", "0", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cache = ws.cache_dir / "efficientnet-lite0"
    deadline = time.time() + 240
    while time.time() < deadline and len(list(cache.rglob("*.npz"))) < 2 and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "embedding finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rep = embed_workspace(ws, EmbedConfig(n_views=0, batch_size=4, workers=0))
    assert rep.cached >= 8 and rep.computed == n - rep.cached and rep.computed > 0
    fs = load_features(ws)
    sample = [0, n - 1]
    fresh = embed_pil([Image.open(ws.image_path(fs.ids[i])).convert("RGB") for i in sample])
    np.testing.assert_allclose(fs.features[sample], fresh.features, atol=2e-3)


def test_rerun_on_an_unchanged_catalog_keeps_the_artifact_version(tmp_path):
    ws = _colour_ws(tmp_path, n=3)
    cfg = EmbedConfig(backbone="colour-histogram", n_views=0, workers=0)
    embed_workspace(ws, cfg)
    version = ws.version("features/colour-histogram")
    embed_workspace(ws, cfg)
    assert ws.version("features/colour-histogram") == version
    embed_workspace(ws, EmbedConfig(backbone="colour-histogram", n_views=1, workers=0))
    assert ws.version("features/colour-histogram") == version + 1


@pytest.mark.backbone
def test_sibling_backbones_come_from_one_pass_and_only_the_missing_one_is_computed(tmp_path):
    ws = _colour_ws(tmp_path, n=3)
    cfg = EmbedConfig(n_views=1, workers=0)
    embed_workspace(ws, cfg)  # lite0 alone
    lite0 = (ws.version("features/efficientnet-lite0"), load_features(ws).features.copy())
    rep = embed_workspace(ws, cfg, also=("efficientnet-lite0-2x2",))
    assert rep.total == 3
    # lite0 came from its artifact: not recomputed, not rewritten
    assert ws.version("features/efficientnet-lite0") == lite0[0]
    np.testing.assert_array_equal(load_features(ws).features, lite0[1])
    grid = load_features(ws, "efficientnet-lite0-2x2")
    pooled = load_features(ws, "efficientnet-lite0")
    assert grid.features.shape == (3, 5120) and grid.views.shape == (3, 1, 5120)
    assert grid.ids.tolist() == pooled.ids.tolist()
    np.testing.assert_array_equal(grid.topk_idx, pooled.topk_idx)
    again = embed_workspace(ws, cfg, also=("efficientnet-lite0-2x2",))
    assert again.computed == 0


def test_a_sibling_of_another_network_is_refused(tmp_path):
    from core.errors import InvalidInputError

    ws = _colour_ws(tmp_path, n=2)
    with pytest.raises(InvalidInputError, match="cannot share a forward pass"):
        embed_workspace(ws, EmbedConfig(n_views=0, workers=0), also=("efficientnet-lite2",))


def test_features_are_stored_once_and_added_images_reuse_the_artifact(tmp_path):
    """Once the artifact is committed the cache shards are cleared (no second copy on disk); a
    re-run after adding images computes only the new ones, the others come from the artifact."""
    ws = _colour_ws(tmp_path, n=4)
    cfg = EmbedConfig(backbone="colour-histogram", n_views=1, workers=0)
    first = embed_workspace(ws, cfg)
    assert first.computed == 4
    assert not list(ws.cache_dir.rglob("*.npz"))
    before = load_features(ws, "colour-histogram")
    old = {i: (before.features[k].copy(), before.views[k].copy()) for k, i in enumerate(before.ids.tolist())}
    extra = tmp_path / "more"
    for n, colour in enumerate([(10, 200, 90), (240, 240, 20)]):
        make_image(extra / f"new{n}.png", size=(70 + n, 50), colour=colour)
    ingest(ws, extra)
    again = embed_workspace(ws, cfg)
    assert (again.computed, again.cached, again.total) == (2, 4, 6)
    after = load_features(ws, "colour-histogram")
    assert len(after.ids) == 6 and not list(ws.cache_dir.rglob("*.npz"))
    for k, item_id in enumerate(after.ids.tolist()):
        if item_id in old:
            np.testing.assert_array_equal(after.features[k], old[item_id][0])
            np.testing.assert_array_equal(after.views[k], old[item_id][1])
    # a changed setting (more views) cannot reuse them: everything is computed again
    assert embed_workspace(ws, EmbedConfig(backbone="colour-histogram", n_views=2, workers=0)).computed == 6
