"""The similarity step, query by image / bytes / URL / item, directions and the CLI, end to end.

A real workspace of 48 demo photos: real ingestion, real colour-histogram features with two
augmented views (no pretrained weights needed), a real (tiny) training run and annoy index.
The same path with the lite0 backbone is covered by the ``backbone``-marked test at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from core import pipeline
from core.embed.artifact import load_features
from core.embed.step import EmbedConfig, embed_workspace
from core.errors import InvalidInputError, MissingArtifactError
from core.fetch import FetchPolicy
from core.similarity import SimilarityConfig, load_similarity, train_similarity
from core.similarity.query import build_direction, list_directions, parse_shift, similar
from core.similarity.retrieval import l2_normalise
from core.similarity.steering import probability
from core.workspace import Workspace
from tests.conftest import write_subset_csv

CLASSES = ("Dress", "Shoes", "Hat", "Pants")


def _subset_csv(path: Path, per_class: int = 12) -> Path:
    return write_subset_csv(path, per_class=per_class, unlabelled=0, classes=set(CLASSES))


def _config(tmp: Path, ws: Workspace) -> SimilarityConfig:
    items = ws.items()
    dress = items.loc[items["label"] == "Dress", "item_id"].tolist()
    shoes = items.loc[items["label"] == "Shoes", "item_id"].tolist()
    spec = {"directions": [{"name": "dressy", "description": "test set",
                            "positive": [{"item_id": i} for i in dress[:6]],
                            "negative": [{"item_id": i} for i in shoes[:6]]},
                           {"name": "absent", "positive": [{"item_id": "0" * 16}] * 3,
                            "negative": [{"item_id": "f" * 16}] * 3}]}
    (tmp / "dirs.json").write_text(json.dumps(spec))
    return SimilarityConfig(backbone="colour-histogram", out_dim=16, hidden_dim=32, epochs=4, batch_size=32,
                            validation_fraction=0.25, shipped_directions=str(tmp / "dirs.json"), serve="tuned")


@pytest.fixture(scope="module")
def embedded_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Ingested and embedded (colour histogram + 2 views), no similarity artifact yet."""
    tmp = tmp_path_factory.mktemp("simws")
    ws = Workspace(tmp / "ws")
    pipeline.ingest(ws, _subset_csv(tmp / "catalog.csv"))
    embed_workspace(ws, EmbedConfig(backbone="colour-histogram", n_views=2, workers=0))
    return ws


@pytest.fixture(scope="module")
def trained(embedded_ws: Workspace, tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, dict]:
    """A copy of the embedded workspace with similarity/default built."""
    tmp = tmp_path_factory.mktemp("trained")
    ws = Workspace(shutil.copytree(embedded_ws.root, tmp / "ws"))
    summary = train_similarity(ws, _config(tmp, ws))
    return ws, summary


def test_query_before_any_index_exists_names_the_command(embedded_ws: Workspace) -> None:
    with pytest.raises(MissingArtifactError, match="python -m core similarity --workspace"):
        similar(embedded_ws, item_id=embedded_ws.items()["item_id"].iloc[0])
    with pytest.raises(MissingArtifactError, match="python -m core similarity"):
        load_similarity(embedded_ws)


def test_train_writes_the_artifact(trained: tuple[Workspace, dict]) -> None:
    ws, summary = trained
    folder = ws.artifact_dir("similarity/default")
    for f in ("head.pt", "embeddings.npy", "ids.npy", "index/index.ann", "index/index.json", "index/ids.npy",
              "history.json", "evaluation.json", "directions.json", "directions.npy"):
        assert (folder / f).is_file(), f
    rec = ws.record("similarity/default")
    assert rec["config"]["backbone"] == "colour-histogram" and "features/colour-histogram" in rec["parents"]
    sidecar = json.loads((folder / "index" / "index.json").read_text())
    assert sidecar["manifest_version"] == rec["version"] and sidecar["dim"] == 16
    assert 0.9 <= sidecar["recall_at_10"] <= 1.0
    ev = summary["evaluation"]
    for side in ("frozen", "tuned"):
        assert {"partner_top1", "partner_top5", "partner_top10", "label_precision_at_10"} <= set(ev[side])
    assert len(json.loads((folder / "history.json").read_text())) == 4
    names = [d["name"] for d in summary["directions"]]
    assert "dressy" in names and "absent" not in names
    assert any("absent: skipped" in n for n in summary["notes"])
    art = load_similarity(ws)
    assert art.embeddings.shape == (48, 16) and list(art.ids) == list(ws.items()["item_id"])
    np.testing.assert_allclose(np.linalg.norm(art.embeddings, axis=1), 1.0, atol=1e-5)


def test_query_by_item_id_excludes_itself_and_ranks_by_score(trained: tuple[Workspace, dict]) -> None:
    ws, _ = trained
    item = ws.items()["item_id"].iloc[3]
    res = similar(ws, item_id=item, k=5)
    assert len(res.results) == 5 and item not in [r["item_id"] for r in res.results]
    scores = [r["score"] for r in res.results]
    assert scores == sorted(scores, reverse=True)
    art = load_similarity(ws)
    for r in res.results:  # the score is the cosine of the stored embeddings
        assert r["score"] == pytest.approx(float(art.embeddings[art.row_of(r["item_id"])] @
                                                 art.embeddings[art.row_of(item)]), abs=1e-4)
    assert {r["label"] for r in res.results} <= set(CLASSES)


def test_query_by_path_and_bytes_find_the_same_item_first(trained: tuple[Workspace, dict]) -> None:
    ws, _ = trained
    item = ws.items()["item_id"].iloc[10]
    path = ws.image_path(item)
    by_path = similar(ws, path=path, k=3)
    by_bytes = similar(ws, data=path.read_bytes(), k=3)
    assert by_path.results[0]["item_id"] == item and by_path.results[0]["score"] > 0.999
    assert [r["item_id"] for r in by_bytes.results] == [r["item_id"] for r in by_path.results]
    assert by_bytes.query == {"kind": "bytes", "n_bytes": len(path.read_bytes())}


@pytest.fixture()
def image_server(trained: tuple[Workspace, dict]) -> Iterator[tuple[str, str]]:
    ws, _ = trained
    item = ws.items()["item_id"].iloc[20]
    body = ws.image_path(item).read_bytes()

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            ctype = "image/jpeg" if self.path == "/x.jpg" else "text/plain"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", item
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_query_by_url(trained: tuple[Workspace, dict], image_server: tuple[str, str]) -> None:
    ws, _ = trained
    base, item = image_server
    allow = FetchPolicy(allow_networks=("127.0.0.1/32",))
    res = similar(ws, url=base + "/x.jpg", k=3, fetch_policy=allow)
    assert res.results[0]["item_id"] == item and res.query["kind"] == "url"
    with pytest.raises(InvalidInputError, match="loopback"):
        similar(ws, url=base + "/x.jpg", k=3)  # default policy: loopback refused
    with pytest.raises(InvalidInputError, match="not an image"):
        similar(ws, url=base + "/page", k=3, fetch_policy=allow)


def test_shift_brings_positive_examples_up(trained: tuple[Workspace, dict]) -> None:
    ws, _ = trained
    art = load_similarity(ws)
    d = art.directions["dressy"]
    query = ws.items().query("label == 'Pants'")["item_id"].iloc[0]
    base = similar(ws, item_id=query, k=10)
    shifted = similar(ws, item_id=query, k=10, shift_weights={"dressy": 2.0})
    proj = lambda res: np.mean([art.embeddings[art.row_of(r["item_id"])] @ d.vector for r in res.results])  # noqa: E731
    assert proj(shifted) > proj(base)
    assert shifted.shift == {"dressy": 2.0}


def test_the_loaded_artifact_owns_its_search(trained: tuple[Workspace, dict]) -> None:
    ws, _ = trained
    art = load_similarity(ws)
    assert art.backbone == "colour-histogram"
    items = ws.items()
    query = items.loc[items["label"] == "Pants", "item_id"].iloc[0]
    q = art.vector_of(query)
    hits = art.search(q, 5, exclude=(query,))
    assert len(hits) == 5 and query not in [h.item_id for h in hits]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # the same ranking as exact cosine search over the stored embeddings (48 items: annoy is exact here)
    sims = np.asarray(art.embeddings) @ q
    exact = [str(art.ids[i]) for i in np.argsort(-sims) if art.ids[i] != query][:5]
    assert [h.item_id for h in hits] == exact
    # steered: similarity and probability each rescaled over the candidates (all 47 here) to
    # [0, 1] and [0, w / (1 - w)]
    p = probability(art.directions["dressy"], np.asarray(art.embeddings))
    others = np.flatnonzero(art.ids != query)
    scale = lambda v: (v - v.min()) / (v.max() - v.min())  # noqa: E731
    expected = [str(art.ids[i]) for i in others[np.argsort(-(scale(sims[others]) + scale(p[others])),
                                                           kind="stable")][:5]]
    shifted = art.search(q, 5, exclude=(query,), shift={"dressy": 0.5})
    assert [h.item_id for h in shifted] == expected
    assert [tuple(h) for h in shifted] == [(r["item_id"], pytest.approx(r["score"], abs=1e-5)) for r in
                                          similar(ws, item_id=query, k=5, shift_weights={"dressy": 0.5}).results]
    # the top of the scale: only items the direction calls dressy (p >= 0.5), most similar first
    gated = art.search(q, 5, exclude=(query,), shift={"dressy": 2.0})
    passing = [i for i in others[np.argsort(-sims[others])] if p[i] >= 0.5]
    assert [h.item_id for h in gated] == [str(art.ids[i]) for i in passing[:5]]
    with pytest.raises(InvalidInputError, match="unknown direction 'stripes'"):
        art.search(q, 5, shift={"stripes": 1.0})


def test_unknown_direction_name_in_a_query(trained: tuple[Workspace, dict]) -> None:
    ws, _ = trained
    with pytest.raises(InvalidInputError, match="unknown direction 'stripes'; known: .*dressy"):
        similar(ws, item_id=ws.items()["item_id"].iloc[0], shift_weights={"stripes": 1.0})


def test_build_direction_from_two_id_sets_saves_examples(trained: tuple[Workspace, dict]) -> None:
    ws, _ = trained
    items = ws.items()
    hats = items.loc[items["label"] == "Hat", "item_id"].tolist()
    pants = items.loc[items["label"] == "Pants", "item_id"].tolist()
    with pytest.raises(InvalidInputError, match="needs at least 3 positive"):
        build_direction(ws, "hatty", hats[:2], pants[:5])
    assert "hatty" not in list_directions(ws)[0]
    d = build_direction(ws, "hatty", hats[:4], pants[:4], source="test")
    assert d.provenance["n_positive"] == 4
    dirs, problems = list_directions(ws)
    assert "hatty" in dirs and dirs["hatty"].provenance["origin"] == "annotations:test" and problems == []
    res = similar(ws, item_id=pants[5], k=3, shift_weights={"hatty": 1.0})
    assert len(res.results) == 3


def test_saved_directions_are_built_once_per_annotations_version(trained: tuple[Workspace, dict],
                                                                   tmp_path: Path) -> None:
    """A page load that lists directions reuses the built ones until a direction is written
    (by any connection) or the artifact is rebuilt."""
    import sqlite3

    from core.annotations import Annotations

    ws = Workspace(shutil.copytree(trained[0].root, tmp_path / "ws"))
    items = ws.items()
    hats = items.loc[items["label"] == "Hat", "item_id"].tolist()
    pants = items.loc[items["label"] == "Pants", "item_id"].tolist()
    Annotations(ws.annotations_path).save_direction_examples("hatty", hats[:4], pants[:4])
    first = list_directions(ws)[0]["hatty"]
    assert list_directions(ws)[0]["hatty"] is first  # not rebuilt
    Annotations(ws.annotations_path).add_direction_examples("hatty", hats[4:6], positive=True)
    second = list_directions(ws)[0]["hatty"]
    assert second is not first and second.provenance["n_positive"] == 6
    with sqlite3.connect(ws.annotations_path) as con:  # a writer that is not this process's Annotations
        con.execute("DELETE FROM direction_examples WHERE name = 'hatty'")
    assert "hatty" not in list_directions(ws)[0]


def test_sidecar_that_disagrees_with_the_manifest_is_refused(trained: tuple[Workspace, dict], tmp_path: Path) -> None:
    ws, _ = trained
    copy = Workspace(shutil.copytree(ws.root, tmp_path / "ws"))
    sidecar = copy.artifact_dir("similarity/default") / "index" / "index.json"
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps(meta | {"manifest_version": meta["manifest_version"] + 7}))
    with pytest.raises(InvalidInputError, match="manifest version"):
        load_similarity(copy)


def test_bad_query_inputs(trained: tuple[Workspace, dict], tmp_path: Path) -> None:
    ws, _ = trained
    with pytest.raises(InvalidInputError, match="exactly one"):
        similar(ws)
    with pytest.raises(InvalidInputError, match="not in the catalog"):
        similar(ws, item_id="0123456789abcdef")
    with pytest.raises(InvalidInputError, match="k must be"):
        similar(ws, item_id=ws.items()["item_id"].iloc[0], k=0)
    with pytest.raises(InvalidInputError, match="no image file"):
        similar(ws, path=tmp_path / "missing.jpg")
    with pytest.raises(InvalidInputError):
        similar(ws, data=b"definitely not an image")
    with pytest.raises(InvalidInputError, match="NAME=WEIGHT"):
        parse_shift(["stripes"])
    assert parse_shift(["stripes=1", "floral=-0.5"]) == {"stripes": 1.0, "floral": -0.5}


def _cli(argv: list[str]) -> int:
    from core.cli import similarity as cli_similarity

    parser = argparse.ArgumentParser()
    cli_similarity.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_cli_similar_and_directions_json(trained: tuple[Workspace, dict], capsys: pytest.CaptureFixture) -> None:
    ws, _ = trained
    item = ws.items()["item_id"].iloc[0]
    assert _cli(["similar", "--workspace", str(ws.root), "--item", item, "--k", "4",
                 "--shift", "dressy=0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["results"]) == 4 and {"item_id", "score"} <= set(out["results"][0])
    assert out["shift"] == {"dressy": 0.5}
    assert _cli(["directions", "--workspace", str(ws.root), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["directions"]
    dressy = next(d for d in listed if d["name"] == "dressy")
    assert dressy["source"] == "examples" and dressy["n_positive"] == 6 and "auc" in dressy
    assert _cli(["similar", "--workspace", str(ws.root), "--item", item, "--k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[1].split()[0] == "1"


@pytest.mark.backbone
def test_lite0_end_to_end_query_by_image(small_workspace: Workspace, tmp_path: Path) -> None:
    """Real lite0 features of ~110 demo photos: train, then an item's own photo comes back first."""
    ws = Workspace(shutil.copytree(small_workspace.root, tmp_path / "ws"))
    summary = train_similarity(ws, SimilarityConfig(epochs=3, validation_fraction=0.2))
    ev = summary["evaluation"]
    assert 0.0 <= ev["tuned"]["label_precision_at_10"] <= 1.0
    item = ws.items()["item_id"].iloc[7]
    res = similar(ws, path=ws.image_path(item), k=5)
    assert res.results[0]["item_id"] == item and res.results[0]["score"] > 0.99
    assert set(res.timings_ms) >= {"embed", "search"}
    # its cluster comes from the 2×2-grid features of the same forward pass, and matches the
    # stored assignment of the item itself
    from core.cluster import load_clustering
    from core.similarity.placement import cluster_backbones

    assert cluster_backbones(ws) == ("efficientnet-lite0-2x2",)
    stored = load_clustering(ws, "default")
    row = int(np.flatnonzero(stored.ids == item)[0])
    assert res.cluster is not None
    if not res.cluster["outlier"]:
        assert res.cluster["cluster"] == int(stored.labels[row])


def test_query_reports_its_cluster_where_a_clustering_exists(trained: tuple[Workspace, dict], tmp_path: Path) -> None:
    from core.cluster import ClusterConfig, cluster_workspace

    ws, _ = trained
    item = ws.items()["item_id"].iloc[5]
    before = similar(ws, item_id=item, k=3)
    assert before.cluster is None and before.cluster_note == "no clustering in this workspace"
    copy = Workspace(shutil.copytree(ws.root, tmp_path / "ws"))
    cluster_workspace(copy, ClusterConfig(backbone="colour-histogram", k_init=4, k_max=6, n_epochs=3, min_epochs=1,
                                          hidden_dim=32, out_dim=16, baseline=False, checkpoint_every=100))
    for res in (similar(copy, item_id=item, k=3), similar(copy, data=copy.image_path(item).read_bytes(), k=3)):
        assert res.cluster is not None and res.cluster["run_id"] == "default"
        assert res.cluster["outlier"] == (res.cluster["name"] == "outlier")
        assert res.cluster["outlier"] or isinstance(res.cluster["cluster"], int)


def test_warm_up_loads_the_index_and_head_once(trained: tuple[Workspace, dict]) -> None:
    from core.similarity import artifact, query

    ws, _ = trained
    artifact._load_cached.cache_clear()
    query.warm_up(ws)
    assert artifact._load_cached.cache_info().currsize == 1
    similar(ws, item_id=ws.items()["item_id"].iloc[0], k=2)
    assert artifact._load_cached.cache_info().misses == 1  # the query reused what warm_up loaded


def test_warm_up_without_an_index_does_nothing(tmp_path: Path) -> None:
    from core.similarity import artifact, query

    artifact._load_cached.cache_clear()
    query.warm_up(Workspace(tmp_path / "empty"))  # no similarity artifact: nothing to load, no error
    assert artifact._load_cached.cache_info().currsize == 0


def test_tuning_that_loses_falls_back_to_the_frozen_features(embedded_ws: Workspace, tmp_path: Path) -> None:
    """A 2-d head with no structure term cannot keep what pieces look like: the step's own
    held-out check sees it lose, and the frozen features are served (and indexed)."""
    ws = Workspace(shutil.copytree(embedded_ws.root, tmp_path / "ws"))
    cfg = SimilarityConfig(backbone="colour-histogram", out_dim=2, hidden_dim=8, epochs=2, batch_size=32,
                           validation_fraction=0.25, structure_weight=0.0, shipped_directions=None)
    summary = train_similarity(ws, cfg)
    served = summary["evaluation"]["served"]
    assert served["space"] == "frozen" and served["reason"]
    art = load_similarity(ws)
    frozen = load_features(ws, "colour-histogram").features
    assert art.space == "frozen" and art.embeddings.shape == frozen.shape
    np.testing.assert_allclose(art.embeddings, l2_normalise(frozen), atol=1e-6)
    assert json.loads((art.path / "evaluation.json").read_text())["served"]["space"] == "frozen"
    assert art.index.dim == art.embeddings.shape[1]  # the annoy index is over the served space
    item = str(art.ids[3])
    hits = art.search(art.vector_of(item), 3)
    assert hits[0].item_id == item and hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert similar(ws, path=ws.image_path(item), k=1).results[0]["item_id"] == item  # an image query maps to frozen too


def test_serve_setting_must_be_known(embedded_ws: Workspace) -> None:
    with pytest.raises(InvalidInputError, match="serve must be one of"):
        train_similarity(embedded_ws, SimilarityConfig(backbone="colour-histogram", serve="best"))
