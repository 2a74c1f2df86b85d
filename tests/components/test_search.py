"""Search logic: upload checks, item queries, shifted search, slider weights, cluster text."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from components import search
from core.annotations import Annotations
from core.workspace import Workspace


def _data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


def test_decode_upload_round_trip() -> None:
    data = _png()
    assert search.decode_upload(_data_uri(data), 1_000_000) == data


@pytest.mark.parametrize(
    "contents, message",
    [
        (None, "Nothing was uploaded"),
        ("garbage", "Nothing was uploaded"),
        ("data:image/png,abc", "could not be read"),
        ("data:image/png;base64,!!!notbase64", "could not be read"),
        ("data:image/png;base64,", "empty"),
    ],
)
def test_decode_upload_rejects_bad_input(contents, message) -> None:
    with pytest.raises(search.SearchError, match=message):
        search.decode_upload(contents, 1_000_000)


def test_decode_upload_over_the_cap() -> None:
    with pytest.raises(search.SearchError, match="too large"):
        search.decode_upload(_data_uri(b"x" * 5000), 1000)


def test_missing_index_names_the_command(tiny_ws: Workspace) -> None:
    item_id = tiny_ws.items()["item_id"].iloc[0]
    with pytest.raises(search.SearchError, match="python -m core similarity"):
        search.query_from_item(tiny_ws, item_id)
    assert search.directions(tiny_ws) == ([], [])


def test_item_query_excludes_itself(tiny_sim_ws: Workspace) -> None:
    ids = tiny_sim_ws.items()["item_id"].tolist()
    q = search.query_from_item(tiny_sim_ws, ids[0])
    assert q["kind"] == "item" and q["preview"] == f"/img/thumb/{ids[0]}" and len(q["vector"]) == 4
    results = search.search(tiny_sim_ws, q, k=3)
    assert len(results) == 3
    assert ids[0] not in [r["item_id"] for r in results]
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)


def test_unknown_item_query(tiny_sim_ws: Workspace) -> None:
    with pytest.raises(search.SearchError, match="No item"):
        search.query_from_item(tiny_sim_ws, "0123456789abcdef")


def test_non_image_upload_is_refused(tiny_sim_ws: Workspace) -> None:
    with pytest.raises(search.SearchError, match="not an image"):
        search.query_from_bytes(tiny_sim_ws, b"%PDF-1.4 not a picture")


def test_saved_examples_become_a_slider_that_moves_results(tiny_sim_ws: Workspace) -> None:
    ids = tiny_sim_ws.items()["item_id"].tolist()
    Annotations(tiny_sim_ws.annotations_path).save_direction_examples("reds", ids[:3], ids[3:])
    dirs, problems = search.directions(tiny_sim_ws)
    assert [d["name"] for d in dirs] == ["reds"] and problems == []
    q = search.query_from_item(tiny_sim_ws, ids[5])
    plain = search.search(tiny_sim_ws, q, {}, k=5)
    pushed = search.search(tiny_sim_ws, q, {"reds": 2.0}, k=5)
    assert [r["score"] for r in plain] != [r["score"] for r in pushed]


def test_too_few_examples_is_reported(tiny_sim_ws: Workspace) -> None:
    ids = tiny_sim_ws.items()["item_id"].tolist()
    Annotations(tiny_sim_ws.annotations_path).save_direction_examples("tiny", ids[:1], ids[1:3])
    dirs, problems = search.directions(tiny_sim_ws)
    assert dirs == [] and len(problems) == 1 and "at least 3" in problems[0]


def test_unknown_direction_weight(tiny_sim_ws: Workspace) -> None:
    q = search.query_from_item(tiny_sim_ws, tiny_sim_ws.items()["item_id"].iloc[0])
    with pytest.raises(search.SearchError, match="unknown direction"):
        search.search(tiny_sim_ws, q, {"nope": 1.0})


def test_stale_query_vector(tiny_sim_ws: Workspace) -> None:
    with pytest.raises(search.SearchError, match="rebuilt"):
        search.search(tiny_sim_ws, {"vector": [0.1, 0.2]})


def test_clean_weights() -> None:
    assert search.clean_weights(["a", "b", "c", "d"], [0, 0.5, None, 9]) == {"b": 0.5, "d": 1.0}


@pytest.mark.parametrize(
    "cluster, expected",
    [
        (None, None),
        ({"cluster": "outlier"}, "outlier — unlike every cluster"),
        ({"cluster": 3, "confidence": 0.81}, "cluster 3 · Denim (confidence 0.81)"),
        ({"cluster": 4, "name": "Knits"}, "cluster 4 · Knits"),
    ],
)
def test_cluster_text(cluster, expected) -> None:
    assert search.cluster_text(cluster, {3: "Denim"}) == expected


def test_preview_is_a_small_jpeg() -> None:
    uri = search.preview_data_uri(_png())
    assert uri.startswith("data:image/jpeg;base64,")


def test_query_cluster_of_an_item_and_of_nothing(tiny_clustered_ws: Workspace) -> None:
    item_id = tiny_clustered_ws.items()["item_id"].iloc[0]
    q = search.query_from_item(tiny_clustered_ws, item_id)
    cluster = search.query_cluster(tiny_clustered_ws, q)
    assert cluster is not None and cluster["cluster"] >= 0 and not cluster["outlier"]
    assert search.query_cluster(tiny_clustered_ws, None) is None
    assert search.query_cluster(tiny_clustered_ws, {"kind": "bytes", "preview": "not a data uri"}) is None


@pytest.mark.parametrize("url, message", [("", "Paste the address"), ("http://127.0.0.1:9/x.jpg", "Could not use that address"),
                                          ("ftp://example.com/x.jpg", "Could not use that address")])
def test_url_query_refuses_bad_addresses(tiny_sim_ws: Workspace, url: str, message: str) -> None:
    with pytest.raises(search.SearchError, match=message):
        search.query_from_url(tiny_sim_ws, url)


_BOMB_SCRIPT = """
import resource, sys
from components import search
from core.workspace import Workspace
ws = Workspace(sys.argv[1], create=False)
small = open(sys.argv[2], "rb").read()
search.query_from_bytes(ws, small)  # loads what a query needs: the baseline
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    search.query_from_bytes(ws, open(sys.argv[3], "rb").read())
    print("accepted")
except search.SearchError as exc:
    print("SearchError: " + str(exc))
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


def test_pixel_bomb_upload_is_refused_before_decoding(hist_sim_ws: Workspace, tmp_path) -> None:
    """A 165 KiB PNG of 6300 x 6300 pixels (under the old 40 Mpx cap): refused with a clear error,
    and the process's peak memory grows by under 50 MB (a fresh process, warmed by one query)."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import png_bomb

    bomb, small = tmp_path / "bomb.png", tmp_path / "small.png"
    bomb.write_bytes(png_bomb())
    small.write_bytes(hist_sim_ws.image_path(hist_sim_ws.items()["item_id"].iloc[0]).read_bytes())
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _BOMB_SCRIPT, str(hist_sim_ws.root), str(small), str(bomb)],
                         cwd=repo, capture_output=True, text=True, timeout=300, check=True).stdout.splitlines()
    assert int(out[-1]) < 50 * 2**20, f"peak RSS grew by {int(out[-1]) / 2**20:.0f} MiB ({out[-2]})"
    assert out[-2].startswith("SearchError: ") and "too many pixels" in out[-2] and "12,000,000" in out[-2]


def test_an_upload_is_decoded_once(hist_sim_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Embedding, preview and cluster share one decode (counted, not replaced, at PIL.Image.open)."""
    data = hist_sim_ws.image_path(hist_sim_ws.items()["item_id"].iloc[3]).read_bytes()
    search.query_from_bytes(hist_sim_ws, data)  # first query loads the artifact
    opened: list[object] = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    q = search.query_from_bytes(hist_sim_ws, data)
    assert q["preview"].startswith("data:image/jpeg;base64,") and len(q["vector"]) == 8
    assert len(opened) == 1


def test_queries_wait_for_a_free_slot_then_say_the_server_is_busy(hist_sim_ws: Workspace,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With every decode/embed slot of the process taken, a query waits its limit, then is refused."""
    import contextlib
    import dataclasses

    from core import limits

    monkeypatch.setattr(limits, "QUERY_LIMITS", dataclasses.replace(limits.QUERY_LIMITS, wait_s=0.2))
    data = hist_sim_ws.image_path(hist_sim_ws.items()["item_id"].iloc[3]).read_bytes()
    with contextlib.ExitStack() as stack:
        for _ in range(limits.QUERY_LIMITS.max_concurrent):
            stack.enter_context(limits.query_slot())
        with pytest.raises(search.SearchError, match="busy"):
            search.query_from_bytes(hist_sim_ws, data)
    assert len(search.query_from_bytes(hist_sim_ws, data)["vector"]) == 8  # slots given back
