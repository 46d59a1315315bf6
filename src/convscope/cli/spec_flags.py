"""A command's flags made from its spec's fields (``--checkpoint-every`` from
``checkpoint_every``), and the spec built back from the parsed flags: an option's default, help
and range are written once, in the spec."""
from __future__ import annotations

import argparse
import builtins
import types
import typing
from typing import Any, Callable

from convscope.api import Spec, SpecType, help_text, spec_options


def flag(name: str) -> str:
    """The command-line flag of a library parameter: ``view_size`` is ``--view-size``."""
    return "--" + name.replace("_", "-")


class _BuiltinNames(dict):
    """Names as a flag's type sees them: the built-in types; any other (a class of the library,
    such as ``Recipe`` in ``str | Recipe``) reads as ``object``, so no module is imported for it."""

    def __missing__(self, name: str) -> Any:
        return getattr(builtins, name, object)


def _hint(annotation: Any) -> Any:
    """A field's type from its annotation, which ``from __future__ import annotations`` keeps as text."""
    return eval(annotation, {"__builtins__": {}}, _BuiltinNames()) if isinstance(annotation, str) else annotation


def _base_type(hint: Any) -> Any:
    """int for ``int`` and ``int | None``; ``tuple[int, ...]`` for a tuple of values; the
    first plain type of a union of several (``str`` for ``str | Recipe``)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint


def _comma_list(kind: type) -> Callable[[str], tuple]:
    """argparse's type for a comma-separated list of ``kind`` values."""
    def parse(text: str) -> tuple:
        try:
            return tuple(kind(part.strip()) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"cannot read {text!r}: write {kind.__name__} values separated by "
                                             "commas, such as 1,2") from None

    parse.__name__ = f"list of {kind.__name__}"
    return parse


def add_spec_flags(parser: argparse.ArgumentParser, spec: type[Spec], **overrides: dict[str, Any]) -> None:
    """Adds a flag for every option of ``spec`` that has one.

    Args:
        parser: the command's parser.
        spec: the command's spec class.
        overrides: per option name, argparse keywords that replace the generated ones (a flag
            that needs its own form, such as ``required``).
    """
    for item in spec_options(spec):
        meta = item.metadata
        if not meta.get("flag", True):
            continue
        kind = _base_type(_hint(item.type))
        text = help_text(item).replace("%", "%%")  # argparse reads % as a format
        settings: dict[str, Any] = {"help": text, "default": item.default}
        if kind is bool:
            settings["action"] = "store_true"
        elif typing.get_origin(kind) is tuple:
            settings.update(type=_comma_list(typing.get_args(kind)[0]), default=None,
                            help=f"{text}, comma-separated")
        else:
            settings["type"] = kind
        if meta.get("metavar"):
            settings["metavar"] = meta["metavar"]
        if meta.get("choices") is not None:
            settings["choices"] = list(meta["choices"]())
        settings.update(overrides.get(item.name, {}))
        parser.add_argument(flag(item.name), dest=item.name, **settings)


def spec_from_args(spec: type[SpecType], args: argparse.Namespace, **values: Any) -> SpecType:
    """The spec of the parsed flags (an option left out keeps the spec's default), with ``values``
    for the options the command builds itself."""
    given = {item.name: getattr(args, item.name) for item in spec_options(spec)
             if item.metadata.get("flag", True) and getattr(args, item.name, None) is not None}
    return spec.of(**{**given, **values})
