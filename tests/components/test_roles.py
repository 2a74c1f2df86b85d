"""Hosted mode: forged write callbacks from a viewer are refused and change nothing; editors
sign in (rate limited) and write; a viewer's tray goes to a scratch space only they see."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import core.jobs as jobs
from components import auth, settings
from core.annotations import Annotations
from core.errors import ConfigurationError
from core.workspace import Workspace
from tests.components.callbacks import (
    EDITOR,
    client,
    enable_hosted,
    post_callback,
    render_page,
    sign_in,
    text,
)

REFUSED = "Only an editor can"


@pytest.fixture()
def hosted(monkeypatch: pytest.MonkeyPatch) -> None:
    enable_hosted(monkeypatch)


def _rename(c, cluster: int, name: str):
    ident = {"cluster": cluster, "type": "cluster-name"}
    return post_callback(
        c, [({"cluster": cluster, "type": "cluster-name-status"}, "children")],
        [({"cluster": cluster, "type": "cluster-save"}, "n_clicks", 1), (ident, "n_submit", None)],
        [(ident, "value", name), (ident, "id", ident)],
    )


def _tray(c, ids: list[str], action: str, name: str):
    buttons = ["tray-save-tag", "tray-add-positive", "tray-add-negative"]
    changed = {"tag": 0, "positive": 1, "negative": 2}[action]
    return post_callback(
        c, [("tray-message", "children")],
        [(b, "n_clicks", 1 if n == changed else None) for n, b in enumerate(buttons)],
        [("tray-ids", "data", ids), ("tray-tag-name", "value", name), ("tray-direction-name", "value", name)],
        changed=changed,
    )


def test_forged_rename_from_a_viewer_is_refused(hosted, tiny_clustered_ws: Workspace) -> None:
    viewer = client()
    answer = _rename(viewer, 0, "Forged name")
    assert answer.status_code == 200 and REFUSED in text(answer)
    assert Annotations(tiny_clustered_ws.annotations_path).cluster_names("default") == {}
    editor = client()
    assert sign_in(editor).status_code == 302
    assert "Saved." in text(_rename(editor, 0, "Weekend reds"))
    assert Annotations(tiny_clustered_ws.annotations_path).cluster_names("default") == {"0": "Weekend reds"}


def test_a_viewer_sees_the_name_in_a_read_only_editor(hosted, tiny_clustered_ws: Workspace) -> None:
    editor = client()
    sign_in(editor)
    _rename(editor, 0, "Weekend reds")
    page = text(render_page(client(), "/clusters", "?cluster=0"))
    assert "Weekend reds" in page and '"disabled":true' in page
    assert '"disabled":false' in text(render_page(editor, "/clusters", "?cluster=0"))


def test_forged_item_tag_from_a_viewer_is_refused(hosted, tiny_ws: Workspace) -> None:
    item_id = tiny_ws.items()["item_id"].iloc[0]

    def tag(c):
        return post_callback(
            c, [("item-tags", "children"), ("item-tag-message", "children"), ("item-tag-input", "value")],
            [("item-tag-add", "n_clicks", 1), ("item-tag-input", "n_submit", None)],
            [("item-tag-input", "value", "forged"), ("_pages_location", "pathname", f"/item/{item_id}")],
        )

    assert REFUSED in text(tag(client()))
    assert Annotations(tiny_ws.annotations_path).all_tags() == {}
    editor = client()
    sign_in(editor)
    tag(editor)
    assert Annotations(tiny_ws.annotations_path).all_tags() == {"forged": 1}


def test_a_viewers_tray_stays_in_their_scratch_space(hosted, tiny_sim_ws: Workspace) -> None:
    ids = tiny_sim_ws.items()["item_id"].tolist()
    alice, bob = client(), client()
    assert "only you see it" in text(_tray(alice, ids, "tag", "alice picks"))
    _tray(alice, ids[:3], "positive", "alice-dir")
    assert "Enough to use it" in text(_tray(alice, ids[3:], "negative", "alice-dir"))
    shared = Annotations(tiny_sim_ws.annotations_path)
    assert shared.all_tags() == {} and shared.direction_examples() == []  # nothing shared changed
    assert "alice-dir" in text(render_page(alice, "/search", f"?item={ids[0]}"))  # her own slider
    assert "alice-dir" not in text(render_page(bob, "/search", f"?item={ids[0]}"))  # another session
    assert "alice-dir" not in text(render_page(client(), "/search"))


def test_an_editor_shares_their_scratch_direction(hosted, tiny_sim_ws: Workspace) -> None:
    ids = tiny_sim_ws.items()["item_id"].tolist()
    visitor = client()
    _tray(visitor, ids[:3], "positive", "stripes")
    _tray(visitor, ids[3:], "negative", "stripes")

    def promote_named(c):  # the renderer sends the pattern id of the button clicked
        body_id = {"name": "stripes", "type": "dir-promote"}
        return post_callback(c, [("search-promote-message", "children")], [(body_id, "n_clicks", [1])])

    assert REFUSED in text(promote_named(visitor))
    assert Annotations(tiny_sim_ws.annotations_path).direction_examples() == []
    sign_in(visitor)  # the same session: the scratch space is kept
    assert "now shared" in text(promote_named(visitor))
    assert [d.name for d in Annotations(tiny_sim_ws.annotations_path).direction_examples()] == ["stripes"]


def test_forged_resume_from_a_viewer_starts_nothing(hosted, tiny_ws: Workspace) -> None:
    job = jobs.submit(tiny_ws.root, "build", {}, start=False)
    jobs.JobStore().update(job.id, state="failed", error="stopped")
    answer = post_callback(client(), [("build-banner", "children"), ("build-poll", "disabled")],
                           [("build-resume", "n_clicks", 1)])
    assert REFUSED in text(answer)
    after = jobs.get(job.id)
    assert after is not None and after.state == "failed" and after.attempt == 1


def test_forged_build_and_cancel_from_a_viewer_change_nothing(hosted, tiny_ws: Workspace) -> None:
    """The overview's build queues a job: the role is checked before anything is queued."""
    answer = post_callback(client(), [("build-result", "children"), ("build-poll", "disabled")],
                           [("build-missing", "n_clicks", 1)])
    assert REFUSED in text(answer)
    assert jobs.latest(tiny_ws.root) is None
    job = jobs.submit(tiny_ws.root, "build", {}, start=False)
    answer = post_callback(client(), [("build-banner", "children")], [("build-cancel", "n_clicks", 1)])
    assert REFUSED in text(answer)
    assert jobs.get(job.id).state == "queued"  # type: ignore[union-attr]


def test_signin_is_rate_limited(hosted, tiny_ws: Workspace) -> None:
    c = client()
    answers = [sign_in(c, password="wrong").status_code for _ in range(6)]
    assert answers[:5] == [302] * 5 and answers[5] == 429
    assert sign_in(c).status_code == 429  # even the right password, until the window passes
    assert sign_in(client()).status_code == 302  # another client is not affected


def test_wrong_password_returns_to_the_form_and_signout_ends_the_session(hosted, tiny_ws: Workspace) -> None:
    c = client()
    wrong = sign_in(c, password="nope")
    assert wrong.status_code == 302 and "/signin?error=1" in wrong.headers["Location"]
    assert "Wrong name or password" in text(render_page(c, "/signin", "?error=1"))
    ok = sign_in(c)
    assert ok.headers["Location"].endswith("/clusters")
    cookie = ok.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert f"signed in as {EDITOR}" in text(render_page(c, "/signin"))
    c.post("/auth/signout")
    assert REFUSED in text(_rename(c, 0, "after sign-out"))


def test_next_never_leaves_the_site(hosted, tiny_ws: Workspace) -> None:
    c = client()
    answer = c.post("/auth/signin", data={"username": EDITOR, "password": "correct horse battery",
                                          "next": "//evil.example/x"})
    assert answer.headers["Location"] == "/"


def test_query_uploads_and_urls_are_rate_limited(monkeypatch: pytest.MonkeyPatch, tiny_sim_ws: Workspace) -> None:
    monkeypatch.setenv("STYLE_ATLAS_QUERY_LIMIT", "2 per minute")
    c = client()

    def url_query():
        return post_callback(
            c, [("search-query", "data"), ("search-message", "children")],
            [("search-upload", "contents", None), ("search-url-go", "n_clicks", 1), ("search-url", "n_submit", None)],
            [("search-upload", "filename", None), ("search-url", "value", "ftp://example.invalid/x.jpg")], changed=1,
        )

    first, second, third = (text(url_query()) for _ in range(3))
    assert "Could not use that address" in first and "Could not use that address" in second
    assert "Too many requests" in third


def test_editors_must_be_password_hashes(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="not a werkzeug password hash"):
        auth.parse_editors("edith:hunter2")
    with pytest.raises(ConfigurationError, match="entry 1"):
        auth.parse_editors("no-colon-here")
    users = tmp_path / "users"
    users.write_text("# editors\nedith:pbkdf2:sha256:1000$salt$abc\n\nmo:scrypt:32768:8:1$s$h\n")
    monkeypatch.setenv("STYLE_ATLAS_EDITORS", str(users))
    assert sorted(auth.load_editors()) == ["edith", "mo"]
    monkeypatch.setenv("STYLE_ATLAS_EDITORS", str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match="no users file"):
        auth.load_editors()


def test_hosted_mode_refuses_to_start_without_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    enable_hosted(monkeypatch)
    monkeypatch.delenv("SECRET_KEY")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        auth.check_hosted_config()
    started = subprocess.run([sys.executable, "-c", "import app"], capture_output=True, text=True, timeout=120,
                             cwd=settings.REPO)
    assert started.returncode != 0
    assert "needs SECRET_KEY" in started.stderr and "Traceback" not in started.stderr


def test_dash_debug_is_ignored_in_hosted_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASH_DEBUG", "1")
    assert settings.debug_enabled()
    enable_hosted(monkeypatch)
    assert not settings.debug_enabled()


def test_local_mode_is_one_editor(tiny_clustered_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STYLE_ATLAS_EDITORS", raising=False)
    assert "Saved." in text(_rename(client(), 0, "Local name"))
    assert "you are its editor" in text(render_page(client(), "/signin"))


def test_forged_keep_duplicate_from_a_viewer_hides_nothing(hosted, tiny_ws: Workspace) -> None:
    from components import ids
    from core import hidden

    item = str(tiny_ws.items()["item_id"].iloc[1])
    keep = {"type": ids.DUP_KEEP_TYPE, "item": item}
    body = {
        "output": f"..{ids.DUP_MESSAGE}.children...{ids.DUP_VERSION}.data..",
        "outputs": [{"id": ids.DUP_MESSAGE, "property": "children"}, {"id": ids.DUP_VERSION, "property": "data"}],
        "inputs": [[{"id": keep, "property": "n_clicks", "value": 1}], []],
        "state": [{"id": ids.DUP_THRESHOLD, "property": "value", "value": 0.5},
                  {"id": ids.DUP_VERSION, "property": "data", "value": 0}],
        "changedPropIds": [json.dumps(keep, sort_keys=True, separators=(",", ":")) + ".n_clicks"],
    }
    answer = client().post("/_dash-update-component", json=body)
    assert REFUSED in text(answer)
    assert hidden.hidden_ids(tiny_ws.annotations_path) == frozenset()
