"""Hidden duplicates: a reversible annotation, nothing deleted (on SQLite and on a real
PostgreSQL: ``backend``)."""

from __future__ import annotations

import pytest

from core import hidden
from core.errors import InvalidInputError


def test_hide_and_unhide_round_trip(backend):
    db = backend.path
    assert hidden.hidden_ids(db) == frozenset()
    assert hidden.hide_duplicates(db, "a", ["a", "b", "c"]) == 2  # the keeper is never hidden
    assert hidden.hidden_ids(db) == {"b", "c"}
    assert hidden.hidden_by_keeper(db) == {"a": ["b", "c"]}
    assert hidden.unhide(db, ["b"]) == 1
    assert hidden.hidden_ids(db) == {"c"}
    assert hidden.unhide(db, ["a"]) == 1  # a keeper brings its whole group back
    assert hidden.hidden_ids(db) == frozenset()


def test_hiding_the_keeper_of_a_group_moves_the_group(backend):
    db = backend.path
    hidden.hide_duplicates(db, "a", ["b"])
    hidden.hide_duplicates(db, "c", ["a"])  # a is now a duplicate of c: b follows to c
    assert {k: set(v) for k, v in hidden.hidden_by_keeper(db).items()} == {"c": {"a", "b"}}
    hidden.hide_duplicates(db, "b", ["c"])  # choosing a hidden one as keeper brings it back
    assert "b" not in hidden.hidden_ids(db)
    assert hidden.hidden_ids(db) == {"a", "c"}


def test_bad_input_is_refused(backend):
    db = backend.path
    with pytest.raises(InvalidInputError, match="besides the keeper"):
        hidden.hide_duplicates(db, "a", ["a"])
    with pytest.raises(InvalidInputError, match="one string"):
        hidden.hide_duplicates(db, "a", "bc")
    with pytest.raises(InvalidInputError, match="at most"):
        hidden.hide_duplicates(db, "a", [f"x{i}" for i in range(hidden.MAX_HIDE + 1)])
