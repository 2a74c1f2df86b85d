"""Options built from dataclass fields: types, bools, ``int | None``, choices and their errors."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from core.cli.options import Option, add_config_options, config_from_args


@dataclass(frozen=True)
class Toy:
    size: int = 3
    rate: float = 0.5
    name: str = "a"
    mode: Literal["fast", "slow"] = "fast"
    dims: int | None = 10
    limit: int | None = None
    balanced: bool = False
    views: bool = True
    k: int = 4


OPTIONS: dict[str, Option | str] = {
    "size": "--size", "rate": "--rate", "name": "--name", "mode": "--mode",
    "dims": Option("--dims", "umap dims; 0: off", off=0), "limit": "--limit",
    "balanced": "--balanced", "views": Option("--no-views", "no views"), "k": Option("--k", unset=True),
}


def parse(argv: list[str], base: Toy | None = None) -> Toy:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_config_options(parser, Toy, OPTIONS, base=base)
    return config_from_args(Toy, parser.parse_args(argv), OPTIONS, base=base)


def test_no_options_give_the_defaults_and_of_a_base():
    assert parse([]) == Toy()
    base = Toy(size=9, balanced=True, dims=None, k=2)
    assert parse([], base=base) == base


def test_every_kind_of_field_is_set_from_its_option():
    got = parse(["--size", "7", "--rate", "1e-3", "--name", "b", "--mode", "slow", "--dims", "0", "--limit", "5",
                 "--balanced", "--no-views", "--k", "8"])
    assert got == Toy(size=7, rate=1e-3, name="b", mode="slow", dims=None, limit=5, balanced=True, views=False, k=8)
    assert parse(["--no-balanced"], base=Toy(balanced=True)).balanced is False
    assert parse(["--dims", "5"]).dims == 5


def test_bad_values_are_argparse_errors(capsys):
    parser = argparse.ArgumentParser(prog="toy")
    add_config_options(parser, Toy, OPTIONS)
    for argv in (["--size", "x"], ["--mode", "medium"], ["--dims", "1.5"]):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(argv)
        assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid int value: 'x'" in err and "invalid choice: 'medium'" in err


def test_help_names_the_default_from_the_config():
    parser = argparse.ArgumentParser()
    add_config_options(parser, Toy, OPTIONS, base=Toy(size=11, dims=None))
    text = " ".join(parser.format_help().split())
    assert "--size SIZE default 11" in text and "umap dims; 0: off (default 0)" in text
    assert "--balanced, --no-balanced default False" in text


@dataclass(frozen=True)
class Odd:
    where: Path = Path(".")
    on: bool = False


@pytest.mark.parametrize(("options", "match"), [
    ({"nope": "--nope"}, "no field 'nope'"),
    ({"where": "--where"}, "no command-line option for type"),
    ({"on": "--no-on"}, "needs on to default to True"),
])
def test_misdeclared_options_fail_when_the_parser_is_built(options, match):
    with pytest.raises(TypeError, match=match):
        add_config_options(argparse.ArgumentParser(), Odd, options)
