"""Filter logic: every facet, their combination, the URL round trip, untrusted URLs, the choices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.filters import MAX_VALUES, Filter, facets, mask, parse_params, to_params

IDS = [f"{n:016x}" for n in range(6)]


@pytest.fixture()
def table() -> pd.DataFrame:
    return pd.DataFrame({
        "item_id": IDS,
        "label": ["Dress", "Dress", "Shoes", "", "Hat", "Shoes"],
        "cluster": pd.array([0, 0, 1, 1, pd.NA, 2], dtype="Int64"),
        "novel": [False, True, False, True, False, False],
        "colour_family": ["red", "blue", "red", "black", "white", "red"],
        "season": ["summer", "winter", None, "summer", "summer", "winter"],
        "price": [10.0, 20.0, 30.0, np.nan, 50.0, 60.0],
    }, index=IDS)


TAGS = {"sale": {IDS[0], IDS[2]}, "new": {IDS[5]}}
BOARDS = {7: {IDS[1], IDS[2], IDS[5]}}


@pytest.mark.parametrize("f, expected", [
    (Filter(), [0, 1, 2, 3, 4, 5]),
    (Filter(labels=("Dress",)), [0, 1]),
    (Filter(labels=("unlabelled", "Hat")), [3, 4]),
    (Filter(clusters=(1, 2)), [2, 3, 5]),  # the unassigned item never matches a cluster
    (Filter(tags=("sale", "new")), [0, 2, 5]),  # any of the tags
    (Filter(tags=("nope",)), []),
    (Filter(boards=(7,)), [1, 2, 5]),
    (Filter(colours=("red",)), [0, 2, 5]),
    (Filter(novelty="novel"), [1, 3]),
    (Filter(novelty="typical"), [0, 2, 4, 5]),
    (Filter(columns=(("season", ("summer",)),)), [0, 3, 4]),
    (Filter(ranges=(("price", 20.0, 50.0),)), [1, 2, 4]),  # NaN price never in a range
    (Filter(ranges=(("price", None, 15.0),)), [0]),
    (Filter(colours=("red",), boards=(7,), ranges=(("price", 40.0, None),)), [5]),  # facets combine with and
    (Filter(columns=(("no_such_column", ("x",)),)), []),
])
def test_mask(table: pd.DataFrame, f: Filter, expected: list[int]) -> None:
    keep = mask(table, f, TAGS, BOARDS)
    assert keep.dtype == bool and keep.shape == (len(table),)
    assert np.flatnonzero(keep).tolist() == expected


def test_url_round_trip() -> None:
    f = Filter(labels=("Dress", "T-Shirt, white"), clusters=(3, 0), tags=("summer edit",), boards=(2,),
               colours=("red", "blue"), novelty="novel", columns=(("season", ("summer",)),),
               ranges=(("price", 10.5, None), ("size", None, 42.0)))
    params = to_params(f)
    assert params["f_label"] == "Dress|T-Shirt, white" and params["f_num_price"] == "10.5~"
    back, notes = parse_params({**params, "color": "cluster", "map": "default"})  # other parameters are not the filter's
    assert back == f and notes == []
    assert Filter().is_empty() and to_params(Filter()) == {}
    assert "label Dress or T-Shirt, white" in f.describe() and "price ≥ 10.5" in f.describe()


def test_untrusted_url_parts_are_dropped_with_a_note() -> None:
    f, notes = parse_params({
        "f_colour": "red|chartreuse", "f_cluster": "1|drop table|2", "f_novelty": "weird",
        "f_num_price": "abc~3", "f_num_secret": "1~2", "f_col_season": "x", "f_col_owner": "y", "f_what": "1",
        "f_label": "|".join(f"l{n}" for n in range(500)) + "|" + "x" * 500,
    }, categorical={"season": []}, numeric={"price": (0, 1)})
    assert f.colours == ("red",) and f.clusters == (1, 2) and f.novelty == "any"
    assert f.ranges == () and f.columns == (("season", ("x",)),)
    assert len(f.labels) == MAX_VALUES and all(len(v) <= 100 for v in f.labels)
    text = " ".join(notes)
    for word in ("chartreuse", "not a number", "novelty", "not two numbers", "secret", "owner", "f_what"):
        assert word in text
    _, notes = parse_params({f"f_tag{n}": "x" for n in range(100)})
    assert "only the first 40" in notes[0]
    lo_hi, _ = parse_params({"f_num_price": "9~3"})
    assert lo_hi.ranges == (("price", 3.0, 9.0),)


def test_facets(table: pd.DataFrame) -> None:
    table["id_like"] = [f"sku{n}" for n in range(6)]
    fac = facets(table, ["label", "season", "price", "id_like"], tags={"sale": 2}, boards={7: "Edit"},
                 cluster_names={0: "dresses"})
    assert fac.labels[0] in ("Dress", "Shoes") and "unlabelled" in fac.labels
    assert fac.clusters == {0: "dresses", 1: "cluster 1", 2: "cluster 2"} and fac.has_novelty
    assert fac.colours == ["black", "white", "red", "blue"]  # COLOUR_FAMILIES order
    assert fac.categorical == {"season": ["summer", "winter"], "id_like": [f"sku{n}" for n in range(6)]}
    assert fac.numeric == {"price": (10.0, 60.0)}
    assert (fac.tags, fac.boards) == ({"sale": 2}, {7: "Edit"})
