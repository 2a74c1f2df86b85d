import pytest

from core.errors import InvalidInputError
from core.imagenet import class_name, class_names


def test_exactly_1000_names_in_standard_order():
    names = class_names()
    assert len(names) == 1000
    assert names[0] == "tench"
    assert names[1] == "goldfish"
    assert names[999] == "toilet tissue"


def test_clothing_classes_readable():
    assert class_name(608) == "jean"
    assert class_name(655) == "miniskirt"
    assert class_name(841) == "sweatshirt"
    assert class_name(774) == "sandal"
    assert all("_" not in n and n for n in class_names())


@pytest.mark.parametrize("bad", [-1, 1000])
def test_out_of_range_index_is_rejected(bad):
    with pytest.raises(InvalidInputError, match="0..999"):
        class_name(bad)
