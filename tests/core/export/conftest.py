"""A small real workspace for the export and filter tests: generated photos through real
ingestion (with catalog columns), features, a real clustering, tags and a board."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from core import pipeline
from core.annotations import Annotations
from core.boards import Boards
from core.workspace import Workspace
from tests.conftest import make_image

COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40), (120, 40, 160), (20, 20, 20),
           (210, 40, 40), (40, 190, 40)]
LABELS = ["Dress", "Dress", "Shoes", "Shoes", "Hat", "", "Dress", "Hat"]
PRICES = [120, 80, 60, 95, 20, 15, 150, 30]
SEASONS = ["summer", "winter", "summer", "summer", "winter", "", "summer", "winter"]


@pytest.fixture(scope="module")
def export_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Eight photos (labels, price, season), features, a k=2 clustering, tag “red” on two items and
    a board “Edit” of four pieces with notes. Read-only for tests (copy to change)."""
    from core.cluster import ClusterConfig, cluster_workspace

    tmp = tmp_path_factory.mktemp("export")
    rows = []
    for n, (colour, label) in enumerate(zip(COLOURS, LABELS, strict=True)):
        path = make_image(tmp / "photos" / f"p{n}.jpg", size=(64 + n, 48), colour=colour)
        rows.append({"path": str(path), "label": label, "price": PRICES[n], "season": SEASONS[n]})
    catalog_csv = tmp / "catalog.csv"
    with open(catalog_csv, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    ws = Workspace(tmp / "ws")
    pipeline.ingest(ws, catalog_csv)
    ids = ws.items()["item_id"].tolist()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(len(ids), 8)).astype(np.float32)
    with ws.write_artifact("features/efficientnet-lite0", config={"test": True}) as folder:
        np.save(folder / "ids.npy", np.asarray(ids, dtype="U16"))
        np.save(folder / "features.npy", X)
    cfg = ClusterConfig(backbone="efficientnet-lite0", init_umap=None, k_init=2, k_max=3, n_epochs=3, min_epochs=1,
                        batch_size=4, hidden_dim=8, out_dim=4, n_representatives=2, baseline=False, pca_dim=None,
                        whiten=False, novelty_buffer=80)
    cluster_workspace(ws, cfg)
    Annotations(ws.annotations_path).add_tag([ids[0], ids[6]], "red")
    boards = Boards(ws.annotations_path)
    b = boards.create("Edit", "Warm pieces for May\nsecond line", [ids[3], ids[0], ids[6], ids[2]])
    boards.set_item_note(b.board_id, ids[0], "with the straw hat")
    return ws
