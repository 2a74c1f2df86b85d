"""Boards and exports in the app: streamed download routes, role checks on every board write
(forged callbacks from a viewer), drag-and-drop order saved through its callback, the filter bar."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from components import filterbar, ids
from core.annotations import Annotations
from core.boards import Boards
from core.filters import Filter
from core.scratch import new_scratch_id
from core.workspace import Workspace
from tests.components.callbacks import callback_key, client, enable_hosted, post_callback, render_page, text


def _ids(ws: Workspace) -> list[str]:
    return ws.items()["item_id"].tolist()


def test_board_zip_and_csv_download_stream_from_the_routes(tiny_ws: Workspace) -> None:
    item_ids = _ids(tiny_ws)
    board = Boards(tiny_ws.annotations_path).create("Look 1", "note", [item_ids[2], item_ids[0]])
    c = client()
    resp = c.get(f"/export/board/{board.board_id}.zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip" and resp.is_streamed
    assert 'attachment; filename="look-1.zip"' in resp.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(resp.get_data())) as zf:
        names = zf.namelist()
        assert len(names) == 3 and names[-1] == "catalog.csv" and item_ids[2] in names[0]
    Annotations(tiny_ws.annotations_path).add_tag(item_ids[:2], "summer edit")
    resp = c.get("/export/tag/summer%20edit.csv")
    rows = list(csv.DictReader(io.StringIO(text(resp))))
    assert [r["item_id"] for r in rows] == item_ids[:2] and rows[0]["tags"] == "summer edit"
    resp = c.post("/export/list.csv", data={"ids": ",".join([item_ids[4], "nope", item_ids[1]]), "kind": "results",
                                            "title": "my results", "scores": "0.9,0.1,0.5"})
    rows = list(csv.DictReader(io.StringIO(text(resp))))
    assert [(r["item_id"], r["score"]) for r in rows] == [(item_ids[4], "0.9"), (item_ids[1], "0.5")]
    assert "my-results.csv" in resp.headers["Content-Disposition"]


@pytest.mark.parametrize("method, url, data, status, message", [
    ("get", "/export/board/1.docx", None, 404, "unknown export format"),
    ("get", "/export/board/..%2F1.zip", None, 404, "invalid board id"),
    ("get", "/export/board/999.zip", None, 400, "there is no board 999"),
    ("get", "/export/secret/1.zip", None, 404, "unknown export"),
    ("get", "/export/cluster/0.csv", None, 400, "not been clustered"),
    ("post", "/export/list.zip", {"ids": "a" * 40_000}, 400, "at most 2000 items"),
    ("post", "/export/list.csv", {"ids": "nope"}, 400, "select some photos"),
    ("post", "/export/list.csv", {"ids": "x", "scores": "high"}, 400, "scores must be numbers"),
])
def test_bad_export_requests_answer_one_line(tiny_ws: Workspace, method: str, url: str, data: dict | None,
                                             status: int, message: str) -> None:
    resp = getattr(client(), method)(url, data=data)
    assert resp.status_code == status and message in text(resp) and len(text(resp).splitlines()) == 1


def _tray_to_board(c, item_ids: list[str], board_id: str | None = None, new_name: str | None = None):
    new = new_name is not None
    return post_callback(
        c, [(ids.TRAY_MESSAGE, "children"), (ids.TRAY_BOARD_SELECT, "options"), (ids.TRAY_BOARD_SELECT, "value"),
            (ids.ACTIVE_BOARD, "data")],
        [(ids.TRAY_ADD_BOARD, "n_clicks", None if new else 1), (ids.TRAY_NEW_BOARD_GO, "n_clicks", 1 if new else None)],
        [(ids.TRAY_IDS, "data", item_ids), (ids.TRAY_BOARD_SELECT, "value", board_id),
         (ids.TRAY_NEW_BOARD, "value", new_name)],
        changed=1 if new else 0)


def test_tray_to_board_local_editor(tiny_ws: Workspace) -> None:
    item_ids = _ids(tiny_ws)
    c = client()
    resp = _tray_to_board(c, item_ids[:3], new_name="From the tray")
    assert resp.status_code == 200 and "made with 3 piece(s)" in text(resp)
    [board] = Boards(tiny_ws.annotations_path).list()
    assert Boards(tiny_ws.annotations_path).get(board.board_id).item_ids == item_ids[:3]
    resp = _tray_to_board(c, [item_ids[4], "ffffffffffffffff"], board_id=str(board.board_id))
    assert "Added 1 piece(s)" in text(resp)  # an id not in the catalog is dropped


def test_viewer_board_writes_go_to_their_scratch_and_never_to_shared(tiny_ws: Workspace,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    item_ids = _ids(tiny_ws)
    shared = Boards(tiny_ws.annotations_path).create("Shared", item_ids=item_ids[:1])
    enable_hosted(monkeypatch)
    viewer = client()
    resp = _tray_to_board(viewer, item_ids[1:3], board_id=str(shared.board_id))  # forged: a shared board
    assert "only an editor can change it" in text(resp)
    assert Boards(tiny_ws.annotations_path).get(shared.board_id).item_ids == item_ids[:1]
    resp = _tray_to_board(viewer, item_ids[1:3], new_name="Mine")
    assert "only you see it" in text(resp)
    assert [b.name for b in Boards(tiny_ws.annotations_path).list()] == ["Shared"]  # not among the shared
    active = json.loads(text(resp))["response"][ids.ACTIVE_BOARD]["data"]
    mine_id = active["board"]
    assert viewer.get(f"/export/board/{mine_id}.csv").status_code == 200  # the viewer exports their own board
    other = client()
    assert "no board" in text(other.get(f"/export/board/{mine_id}.csv"))  # nobody else sees it
    # another viewer's scratch board, even named by id, is refused
    alien = Boards(tiny_ws.annotations_path, new_scratch_id()).create("alien", item_ids=item_ids[:1])
    assert viewer.get(f"/export/board/{alien.board_id}.zip").status_code == 400


def _change(c, board_id: int, order: list[str] | None = None, board: list[str] = ()):
    """The board page's change callback as the browser posts it (the ALL inputs as lists)."""
    key = callback_key([ids.BOARD_ORDER, {"type": ids.BOARD_REMOVE_TYPE}, {"type": ids.BOARD_NOTE_TYPE}])
    removes = [{"id": {"type": ids.BOARD_REMOVE_TYPE, "item": i}, "property": "n_clicks", "value": None} for i in board]
    notes = [{"id": {"type": ids.BOARD_NOTE_TYPE, "item": i}, "property": "value", "value": ""} for i in board]
    body = {
        "output": key,
        "outputs": [{"id": ids.BOARD_PIECES, "property": "children"}, {"id": ids.BOARD_MESSAGE, "property": "children"}],
        "inputs": [{"id": ids.BOARD_ORDER, "property": "data", "value": {"order": order, "t": 1}}, removes, notes],
        "state": [{"id": ids.BOARD_CURRENT, "property": "data", "value": board_id}],
        "changedPropIds": [f"{ids.BOARD_ORDER}.data"],
    }
    return c.post("/_dash-update-component", json=body)


def test_drag_and_drop_order_is_saved_by_the_callback_and_checked(tiny_ws: Workspace,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    item_ids = _ids(tiny_ws)[:4]
    repo = Boards(tiny_ws.annotations_path)
    b = repo.create("Order", item_ids=item_ids)
    c = client()
    new = [item_ids[3], item_ids[0], item_ids[2], item_ids[1]]
    resp = _change(c, b.board_id, new, item_ids)
    assert "Order saved" in text(resp) and repo.get(b.board_id).item_ids == new
    resp = _change(c, b.board_id, [*new[:3], "ffffffffffffffff"], item_ids)  # forged order
    assert "does not name the board's pieces" in text(resp) and repo.get(b.board_id).item_ids == new
    enable_hosted(monkeypatch)
    resp = _change(client(), b.board_id, item_ids, item_ids)  # a viewer reordering a shared board
    assert "only an editor" in text(resp) and repo.get(b.board_id).item_ids == new


def test_boards_page_lists_and_opens_boards(tiny_ws: Workspace) -> None:
    item_ids = _ids(tiny_ws)
    b = Boards(tiny_ws.annotations_path).create("Lookbook", "cover note", item_ids[:2])
    c = client()
    page = text(render_page(c, "/boards"))
    assert "Lookbook" in page and "2 pieces" in page
    page = json.dumps(json.loads(text(render_page(c, "/boards", f"?board={b.board_id}"))))
    assert f"/export/board/{b.board_id}.pdf" in page and page.count('"data-item"') == 2
    assert "No board" in text(render_page(c, "/boards", "?board=77"))


def test_filter_from_controls_and_on_the_map(tiny_ws: Workspace) -> None:
    control_ids = [{"facet": "label"}, {"facet": "tag"}, {"facet": "novelty"}, {"facet": "col:season"},
                   {"facet": "num:price:lo"}, {"facet": "num:price:hi"}, {"facet": "cluster"}]
    f = filterbar.from_controls(control_ids, [["Dress"], [], "weird", ["summer"], "10", None, ["2", "x"]])
    assert f == Filter(labels=("Dress",), novelty="any", columns=(("season", ("summer",)),),
                       ranges=(("price", 10.0, None),), clusters=(2,))
    item_ids = _ids(tiny_ws)
    Annotations(tiny_ws.annotations_path).add_tag(item_ids[:2], "red")
    keep = filterbar.keep_for(tiny_ws, Filter(tags=("red",)), [*item_ids, "nope"])
    assert keep.tolist() == [True, True, False, False, False, False, False]
    page = json.loads(text(render_page(client(), "/explore", "?f_tag=red&color=label")))
    figure = json.dumps(page)
    assert '"colorscale"' in figure and " of " in figure  # greyed, counted: "Dress (2 of 2)"
    assert "f_tag" in figure and '"red"' in figure  # the bar shows the filter from the URL


def test_boards_keep_their_collection(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Board links, downloads and export forms carry ``?c=``; the export route reads the boards
    of the URL's collection; an open board of one collection is not the open board of another."""
    from app import server
    from components import boards as board_ui
    from components.downloads import board_url, list_url
    from core import collections

    monkeypatch.setenv(collections.HOME_ENV, str(tmp_path / "home"))
    monkeypatch.delenv(collections.WORKSPACE_ENV, raising=False)
    Workspace(tmp_path / "home" / "demo")
    collections.create("Summer 2025", "new season")
    summer = Boards(tmp_path / "home" / "summer-2025" / "annotations.sqlite").create("Linen")
    with server.test_request_context("/boards?c=summer-2025"):
        assert board_url(summer.board_id, "pdf") == f"/export/board/{summer.board_id}.pdf?c=summer-2025"
        assert list_url("zip") == "/export/list.zip?c=summer-2025"
        active = board_ui.active_value(summer.board_id)
        assert board_ui.active_board(active) == str(summer.board_id)
        assert board_ui.active_board(str(summer.board_id)) is None  # a bare id from the browser is not trusted
    with server.test_request_context("/explore?c=demo"):
        assert board_ui.active_board(active) is None  # opened in Summer 2025: not the demo's board
    c = client()
    assert c.get(f"/export/board/{summer.board_id}.csv?c=summer-2025").status_code == 200
    assert "no board" in text(c.get(f"/export/board/{summer.board_id}.csv?c=demo"))
