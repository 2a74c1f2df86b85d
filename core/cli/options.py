"""CLI options built from the fields of a config dataclass, so each default has one source.

``add_config_options(parser, ClusterConfig, {"k_init": "--k-init", ...})`` adds one option per
field, its type, default and choices read from the dataclass (``bool`` → ``--x/--no-x``, or
``--no-x`` alone; ``int | None``; ``Literal[...]`` → choices); ``config_from_args`` builds
the config back from the parsed namespace. The option's ``dest`` is the field name.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

C = TypeVar("C")


@dataclass(frozen=True)
class Option:
    """How one config field appears on the command line.

    flag : the option string, e.g. ``"--k-init"``; ``"--no-x"`` for a bool that defaults to True.
    help : help text; ``(default X)`` is appended, read from the config, unless it names one.
    metavar : shown in the usage line (default: the flag's name, as argparse makes it).
    off : the CLI value that stands for None in an ``int | None`` field (e.g. 0: off).
    unset : the option's default is None and the command fills the field in (e.g. k from the
        number of classes); :func:`config_from_args` keeps the base config's value then.
    """

    flag: str
    help: str = ""
    metavar: str | None = None
    off: int | None = None
    unset: bool = False


Options = Mapping[str, "Option | str"]


def _option(spec: Option | str) -> Option:
    return spec if isinstance(spec, Option) else Option(spec)


def _split_optional(hint: Any) -> tuple[Any, bool]:
    """``int | None`` → ``(int, True)``; ``int`` → ``(int, False)``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], len(args) < len(typing.get_args(hint))
    return hint, False


def _int_or_none(off: int) -> Callable[[str], int | None]:
    def parse(text: str) -> int | None:
        value = int(text)
        return None if value == off else value

    parse.__name__ = "int"  # argparse names the type in "invalid int value"
    return parse


def _kwargs(name: str, hint: Any, default: Any, opt: Option) -> dict[str, Any]:
    """``add_argument`` keywords for field ``name`` of type ``hint`` with value ``default``."""
    kind, optional = _split_optional(hint)
    if kind is bool:
        if opt.flag.startswith("--no-"):
            if default is not True:
                raise TypeError(f"{opt.flag} needs {name} to default to True, not {default!r}")
            return {"action": "store_false", "default": True}
        return {"action": argparse.BooleanOptionalAction, "default": default}
    out: dict[str, Any] = {"default": None if opt.unset else default}
    if typing.get_origin(kind) is typing.Literal:
        choices = typing.get_args(kind)
        out.update(choices=choices, type=type(choices[0]))
    elif kind in (int, float, str):
        out["type"] = _int_or_none(opt.off) if (optional and opt.off is not None and kind is int) else kind
    else:
        raise TypeError(f"field {name}: no command-line option for type {hint!r}")
    out["metavar"] = opt.metavar or opt.flag.lstrip("-").replace("-", "_").upper()  # as argparse names it
    return out


def _help(opt: Option, default: Any, action: Any) -> str:
    """The help text, ending in the default read from the config unless it names one itself."""
    if "default" in opt.help or action == "store_false":
        return opt.help
    if action is argparse.BooleanOptionalAction:
        shown = "%(default)s"  # argparse would append its own "(default: ...)" otherwise
    else:
        shown = str(opt.off if (default is None and opt.off is not None) else default).replace("%", "%%")
    return f"{opt.help} (default {shown})" if opt.help else f"default {shown}"


def add_config_options(parser: argparse.ArgumentParser, cls: type, options: Options, *, base: Any = None) -> None:
    """Add one option per entry of ``options`` (field name → :class:`Option` or flag string).

    Defaults are the fields of ``base`` (default ``cls()``: the dataclass's own defaults).
    """
    base = cls() if base is None else base
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for name, spec in options.items():
        if name not in names:
            raise TypeError(f"{cls.__name__} has no field {name!r}")
        opt = _option(spec)
        kwargs = _kwargs(name, hints[name], getattr(base, name), opt)
        kwargs["help"] = _help(opt, getattr(base, name), kwargs.get("action"))
        parser.add_argument(opt.flag, dest=name, **kwargs)


def config_from_args(cls: type[C], args: argparse.Namespace, options: Options, *, base: C | None = None) -> C:
    """``base`` (default ``cls()``) with the fields named in ``options`` taken from ``args``;
    an ``unset`` option left at None keeps the base's value."""
    base = cls() if base is None else base
    changes = {name: getattr(args, name) for name in options
               if not (_option(options[name]).unset and getattr(args, name) is None)}
    return dataclasses.replace(base, **changes)  # type: ignore[type-var]
