"""ServedViews: the augmented views of the rows a direction is built from, in the served space."""

import numpy as np
import pandas as pd

from core.similarity.directions import from_examples
from core.similarity.example_views import ServedViews
from core.similarity.served import FrozenEmbedder
from core.workspace import Workspace

BACKBONE = "efficientnet-lite0"


def _workspace(root, n=12, n_views=2, seed=0):
    rng = np.random.default_rng(seed)
    ws = Workspace(root)
    ids = np.array([f"{i:016x}" for i in range(n)])
    with ws.write_artifact("items", config={}) as tmp:
        pd.DataFrame({"item_id": ids, "source": [f"/x/{i}.jpg" for i in range(n)]}).to_parquet(tmp / "items.parquet")
    with ws.write_artifact(f"features/{BACKBONE}", config={"backbone": BACKBONE}, parents={"items": 1}) as tmp:
        np.save(tmp / "ids.npy", ids.astype("U16"))
        np.save(tmp / "features.npy", rng.random((n, 1280), dtype=np.float32))
        if n_views:
            np.save(tmp / "views.npy", rng.random((n, n_views, 1280), dtype=np.float32))
    return ws, ids


def test_the_rows_views_come_back_in_the_served_space(tmp_path):
    ws, ids = _workspace(tmp_path / "ws")
    views = ServedViews(ws.root, BACKBONE, ids, FrozenEmbedder)
    out = views(np.array([3, 0]))
    raw = np.load(next((ws.root / "features" / BACKBONE).glob("v*")) / "views.npy")
    assert out.shape == (2, 2, 1280)
    assert np.allclose(np.linalg.norm(out, axis=2), 1.0, atol=1e-5)
    assert np.allclose(out[0, 1], raw[3, 1] / np.linalg.norm(raw[3, 1]), atol=1e-6)


def test_without_views_or_with_other_items_a_direction_uses_its_examples_alone(tmp_path):
    no_views, ids = _workspace(tmp_path / "none", n_views=0)
    other, _ = _workspace(tmp_path / "other")
    X = np.random.default_rng(1).normal(size=(12, 1280)).astype(np.float32)
    for ws, rows_of in ((no_views, ids), (other, ids[::-1])):  # ids[::-1]: the features row other items
        views = ServedViews(ws.root, BACKBONE, rows_of, FrozenEmbedder)
        assert views(np.array([1, 2])).shape[:2] == (2, 0)
        alone = from_examples("d", X, rows_of, list(rows_of[:3]), list(rows_of[3:6]))
        with_views = from_examples("d", X, rows_of, list(rows_of[:3]), list(rows_of[3:6]), views=views)
        assert np.allclose(alone.vector, with_views.vector) and with_views.provenance["n_views"] == 0
