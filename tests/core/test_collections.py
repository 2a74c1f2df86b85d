"""Collections under STYLE_ATLAS_HOME: names validated into slugs, create, rename, delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import collections
from core.errors import InvalidInputError
from core.workspace import Workspace


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(collections.HOME_ENV, str(tmp_path / "home"))
    monkeypatch.delenv(collections.WORKSPACE_ENV, raising=False)
    return tmp_path / "home"


@pytest.mark.parametrize("bad, words", [
    ("summer/../../etc", "'/'"),
    ("a/b", "'/'"),
    ("back\\slash", "'/'"),
    ("..", "'..'"),
    ("x" * 300, "300 characters"),
    ("", "needs a name"),
    ("   ", "needs a name"),
    ("tab\there", "control characters"),
    ("!!!", "letter or digit"),
])
def test_bad_collection_names_are_refused_with_the_reason(home: Path, bad: str, words: str) -> None:
    with pytest.raises(InvalidInputError, match=words.replace("\\", "\\\\").replace(".", r"\.")):
        collections.create(bad)
    assert not home.exists() or not any(p for p in home.iterdir() if not p.name.startswith("."))


def test_slugs_come_from_names_and_urls_only_name_slugs() -> None:
    assert collections.slugify("Summer '25 Looks") == "summer-25-looks"
    assert collections.slugify("Élan Été") == "elan-ete"
    assert collections.check_slug("summer-25") == "summer-25"
    for bad in ("../demo", "/etc", "Demo", "a" * 61, "", None, "-x", "x-"):
        with pytest.raises(InvalidInputError, match="not a collection id"):
            collections.check_slug(bad)


def test_create_list_rename_keeps_the_slug(home: Path) -> None:
    c = collections.create("Summer 2025", "the new season")
    assert c.slug == "summer-2025" and c.root == home / "summer-2025"
    assert Workspace.open(c.root).names() == []
    renamed = collections.rename("summer-2025", "Summer ’25 final", "signed off")
    assert renamed.slug == "summer-2025"
    got = collections.get("summer-2025")
    assert (got.name, got.description) == ("Summer ’25 final", "signed off")
    assert [x.slug for x in collections.list_collections()] == ["summer-2025"]
    with pytest.raises(InvalidInputError, match="already exists"):
        collections.create("summer 2025")
    with pytest.raises(InvalidInputError, match="'/'"):
        collections.rename("summer-2025", "a/b")


def test_a_workspace_folder_without_metadata_is_a_collection_named_by_its_slug(home: Path) -> None:
    Workspace(home / "demo")
    (home / "not a slug").mkdir(parents=True)
    (home / "empty").mkdir()
    found = collections.list_collections()
    assert [(c.slug, c.name) for c in found] == [("demo", "demo")]
    assert collections.default_slug() == "demo"
    assert collections.folder_for(None) == home / "demo"


def test_unknown_or_malformed_slugs_name_the_problem(home: Path) -> None:
    with pytest.raises(InvalidInputError, match="no collection 'nope'"):
        collections.get("nope")
    with pytest.raises(InvalidInputError, match="not a collection id"):
        collections.folder_for("../../etc")


def test_delete_needs_confirmation_and_says_what_goes(home: Path) -> None:
    c = collections.create("Old stock")
    Workspace(c.root)
    (c.root / "annotations.sqlite").write_bytes(b"")
    warning = collections.deletion_warning(c.slug)
    assert "Old stock" in warning and "0 photos" in warning and "tags" in warning
    with pytest.raises(InvalidInputError, match="type the collection's name"):
        collections.delete(c.slug, confirm="yes")
    assert c.root.exists()
    collections.delete(c.slug, confirm="Old stock")
    assert not c.root.exists()
    assert collections.list_collections() == []
    assert not list(home.iterdir())  # the trash folder is gone too


def test_single_workspace_setting_serves_one_collection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(tmp_path / "My Catalog")
    monkeypatch.setenv(collections.WORKSPACE_ENV, str(ws.root))
    monkeypatch.setenv(collections.HOME_ENV, str(tmp_path / "home"))
    only = collections.list_collections()
    assert [(c.slug, c.root) for c in only] == [("my-catalog", ws.root)]
    assert collections.folder_for(None) == ws.root and collections.folder_for("anything") == ws.root
    with pytest.raises(InvalidInputError, match="STYLE_ATLAS_WORKSPACE"):
        collections.create("another")
    with pytest.raises(InvalidInputError, match="STYLE_ATLAS_WORKSPACE"):
        collections.delete("my-catalog", confirm="my-catalog")
