"""Tests for core.annotations: tags, cluster names that follow re-runs, direction examples.

Every test that touches the store runs on SQLite and on a real PostgreSQL (``backend``)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from core.annotations import Annotations, DirectionExamples, match_by_overlap
from core.errors import InvalidInputError
from tests.conftest import Backend


def ids(prefix: str, n: int, start: int = 0) -> list[str]:
    """Fake 16-hex-like item ids."""
    return [f"{prefix}{i:015x}"[:16] for i in range(start, start + n)]


@pytest.fixture()
def ann(backend: Backend) -> Annotations:
    return Annotations(backend.path)


def test_backend_follows_database_url(backend: Backend, ann: Annotations) -> None:
    assert ann.store.kind == backend.kind
    ann.add_tag(ids("a", 1), "t")
    assert backend.query("SELECT tag FROM tags") == [("t",)]
    assert ann.path is not None and ann.path.exists() == (backend.kind == "sqlite")  # no file when in PostgreSQL


def test_workspaces_sharing_a_database_keep_their_own_rows(backend: Backend) -> None:
    """Collections served from one DATABASE_URL: one schema each (one file each on SQLite)."""
    summer, winter = backend.tmp / "summer" / "annotations.sqlite", backend.tmp / "winter" / "annotations.sqlite"
    Annotations(summer).add_tag(ids("a", 2), "linen")
    Annotations(winter).set_cluster_name("default", 0, "Coats")
    assert Annotations(summer).all_tags() == {"linen": 2} and Annotations(summer).cluster_names("default") == {}
    assert Annotations(winter).all_tags() == {} and Annotations(winter).cluster_names("default") == {"0": "Coats"}


def test_database_url_must_be_postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.errors import ConfigurationError

    monkeypatch.setenv("DATABASE_URL", "mysql://u:secret@db/x")
    with pytest.raises(ConfigurationError, match="DATABASE_URL must be a postgresql://") as err:
        Annotations(tmp_path / "a.sqlite")
    assert "secret" not in str(err.value)


def test_unreachable_database_is_a_storage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.errors import StorageError
    from tests.postgres import _free_port

    monkeypatch.setenv("DATABASE_URL", f"postgresql://edith:hunter2@127.0.0.1:{_free_port()}/atlas")
    with pytest.raises(StorageError, match="cannot be reached; nothing was saved") as err:
        Annotations(tmp_path / "a.sqlite").add_tag(ids("a", 1), "t")
    assert "hunter2" not in str(err.value)


def test_database_uses_wal(tmp_path: Path) -> None:
    ann = Annotations(tmp_path / "annotations.sqlite")
    assert ann.journal_mode() == "wal"
    assert ann.path is not None
    con = sqlite3.connect(ann.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_tags_round_trip(backend: Backend, ann: Annotations) -> None:
    a, b, c = ids("a", 3)
    assert ann.add_tag([a, b, a], "  summer   picks ") == 2
    assert ann.add_tag([b, c], "summer picks") == 1
    ann.add_tag([a], "denim")
    assert ann.tags_for(a) == ["denim", "summer picks"]
    assert ann.items_with_tag("summer picks") == [a, b, c]
    assert ann.all_tags() == {"summer picks": 3, "denim": 1}
    assert ann.remove_tag([a], "denim") == 1
    assert ann.tags_for(a) == ["summer picks"]
    # a fresh repository object on the same file sees the same truth
    assert Annotations(backend.path).items_with_tag("summer picks") == [a, b, c]


@pytest.mark.parametrize("tag", ["", "   ", "x" * 65])
def test_bad_tag_is_refused(ann: Annotations, tag: str) -> None:
    with pytest.raises(InvalidInputError):
        ann.add_tag(ids("a", 1), tag)


def test_tag_needs_items(ann: Annotations) -> None:
    with pytest.raises(InvalidInputError, match="at least one"):
        ann.add_tag([], "x")
    with pytest.raises(InvalidInputError, match="list of item ids"):
        ann.add_tag("abc", "x")  # type: ignore[arg-type]


def test_cluster_name_by_key(ann: Annotations) -> None:
    ann.set_cluster_name("default", 3, "Denim days")
    assert ann.cluster_names("default") == {"3": "Denim days"}
    assert ann.cluster_names("other") == {}
    ann.set_cluster_name("default", "3", "Jeans")
    assert ann.cluster_names("default") == {"3": "Jeans"}
    ann.set_cluster_name("default", "3", "  ")
    assert ann.cluster_names("default") == {}


def test_cluster_names_follow_a_rerun(ann: Annotations) -> None:
    denim, dresses, shoes = ids("d", 40), ids("e", 30), ids("f", 20)
    ann.set_cluster_name("default", 0, "Denim", members=denim)
    ann.set_cluster_name("default", 1, "Dresses", members=dresses)
    # re-run: ids shuffled, some members moved, a new cluster appeared
    new = {
        0: shoes,
        1: denim[:35] + dresses[:3],
        2: dresses[3:] + denim[35:],
    }
    assert ann.cluster_names("default", new) == {"1": "Denim", "2": "Dresses"}


def test_unrelated_cluster_gets_no_name(ann: Annotations) -> None:
    ann.set_cluster_name("default", 0, "Denim", members=ids("d", 40))
    assert ann.cluster_names("default", {0: ids("z", 40)}) == {}


def test_renaming_a_matched_cluster_replaces_the_old_entry(ann: Annotations) -> None:
    denim = ids("d", 40)
    ann.set_cluster_name("default", 0, "Denim", members=denim)
    moved = {5: denim[:38], 0: ids("z", 10)}
    assert ann.cluster_names("default", moved) == {"5": "Denim"}
    ann.set_cluster_name("default", 5, "Jeans", members=denim[:38])
    assert ann.cluster_names("default") == {"5": "Jeans"}
    assert ann.cluster_names("default", moved) == {"5": "Jeans"}


def test_name_without_members_kept_only_if_key_exists(ann: Annotations) -> None:
    ann.set_cluster_name("default", 7, "Knits")
    assert ann.cluster_names("default", {7: ids("a", 3)}) == {"7": "Knits"}
    assert ann.cluster_names("default", {1: ids("a", 3)}) == {}


def test_match_by_overlap_is_one_to_one() -> None:
    a = set(ids("a", 10))
    saved = {"x": a, "y": set(list(a)[:8])}
    current = {"0": a}
    assert match_by_overlap(saved, current) == {"x": "0"}
    assert match_by_overlap({"x": a}, {"0": set(ids("b", 10))}) == {}


def test_cluster_name_too_long(ann: Annotations) -> None:
    with pytest.raises(InvalidInputError, match="limit"):
        ann.set_cluster_name("default", 0, "n" * 200)


def test_direction_examples_round_trip(ann: Annotations) -> None:
    pos, neg = ids("a", 4), ids("b", 5)
    saved = ann.save_direction_examples("stripes", pos, neg, source="data/demo/directions.json")
    assert isinstance(saved, DirectionExamples)
    [got] = ann.direction_examples()
    assert got.name == "stripes"
    assert got.positive_ids == tuple(pos) and got.negative_ids == tuple(neg)
    assert got.source == "data/demo/directions.json"
    # replacing keeps the creation time
    again = ann.save_direction_examples("stripes", pos[:3], neg)
    assert again.created == got.created and again.positive_ids == tuple(pos[:3])
    assert ann.delete_direction("stripes") is True
    assert ann.delete_direction("stripes") is False
    assert ann.direction_examples() == []


def test_direction_item_on_both_sides_is_refused(ann: Annotations) -> None:
    a = ids("a", 3)
    with pytest.raises(InvalidInputError, match="both positive and negative"):
        ann.save_direction_examples("floral", a, a[:1])


def test_add_direction_examples_moves_items_between_sides(ann: Annotations) -> None:
    a = ids("a", 4)
    ann.add_direction_examples("floral", a[:3], positive=True)
    d = ann.add_direction_examples("floral", a[2:], positive=False)
    assert d.positive_ids == tuple(a[:2])
    assert d.negative_ids == tuple(a[2:])


def test_concurrent_writers(backend: Backend) -> None:
    path = backend.path
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            repo = Annotations(path)
            for j in range(20):
                repo.add_tag([f"{n:02d}{j:014x}"], "t")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(Annotations(path).items_with_tag("t")) == 80


def test_concurrent_direction_adds_lose_nothing(backend: Backend) -> None:
    """Two writers x 25 adds to one direction keep all 50 (the read is inside the transaction)."""
    path = backend.path
    Annotations(path).save_direction_examples("stripes", ids("c", 1), ids("d", 1))
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(prefix: str) -> None:
        try:
            repo = Annotations(path)
            start.wait()
            for item in ids(prefix, 25):
                repo.add_direction_examples("stripes", [item], positive=True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    [d] = Annotations(path).direction_examples()
    assert len(d.positive_ids) == 51 and set(ids("a", 25)) | set(ids("b", 25)) <= set(d.positive_ids)


def test_examples_per_direction_are_capped_before_writing(ann: Annotations) -> None:
    from core.annotations import MAX_EXAMPLES_PER_SIDE

    ann.save_direction_examples("big", ids("a", MAX_EXAMPLES_PER_SIDE), ids("b", 3))
    with pytest.raises(InvalidInputError, match=f"at most {MAX_EXAMPLES_PER_SIDE} positive examples"):
        ann.add_direction_examples("big", ids("c", 1), positive=True)
    with pytest.raises(InvalidInputError, match=f"at most {MAX_EXAMPLES_PER_SIDE} negative examples"):
        ann.save_direction_examples("other", ids("a", 3), ids("b", MAX_EXAMPLES_PER_SIDE + 1))
    [d] = ann.direction_examples()
    assert len(d.positive_ids) == MAX_EXAMPLES_PER_SIDE


def test_directions_per_workspace_are_capped(ann: Annotations) -> None:
    from core.annotations import MAX_DIRECTIONS

    for n in range(MAX_DIRECTIONS):
        ann.save_direction_examples(f"d{n}", ids("a", 1), ids("b", 1))
    with pytest.raises(InvalidInputError, match=f"at most {MAX_DIRECTIONS} directions"):
        ann.add_direction_examples("one too many", ids("a", 1), positive=True)
    ann.save_direction_examples("d0", ids("a", 2), ids("b", 1))  # replacing one is fine
    assert len(ann.direction_examples()) == MAX_DIRECTIONS


def test_directions_version_changes_with_every_direction_write(backend: Backend, ann: Annotations) -> None:
    """Bumped in the writing transaction (a trigger), whoever writes: a cache key for built directions."""
    v0 = ann.directions_version()
    ann.add_tag(ids("a", 1), "t")
    assert ann.directions_version() == v0  # tags do not touch directions
    ann.save_direction_examples("x", ids("a", 3), ids("b", 3))
    v1 = ann.directions_version()
    assert v1 != v0
    backend.query("UPDATE direction_examples SET source = 'elsewhere'")  # another writer, not through this class
    v2 = ann.directions_version()
    assert v2 != v1
    ann.delete_direction("x")
    assert ann.directions_version() not in (v0, v1, v2)
    fresh = Annotations(backend.fresh())
    fresh.save_direction_examples("x", ids("a", 3), ids("b", 3))
    assert fresh.directions_version()[0] != v1[0]  # another database: another generation
