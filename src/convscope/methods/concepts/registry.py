"""The dictionary methods by name: the built-in ones (``nmf``, ``sae``), known here without
loading them so that ``--help`` can list them without torch, and those registered with
``@dictionary_method`` (see ``convscope.methods.concepts.dictionary``)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from convscope.methods.concepts.dictionary import ConceptDictionary


@dataclass(frozen=True)
class BuiltInMethod:
    """A built-in dictionary method: the module that registers it, and one line on it."""

    module: str
    about: str


BUILT_IN_METHODS = {
    "nmf": BuiltInMethod("convscope.methods.concepts.nmf",
                         "non-negative matrix factorization (layers without negative values)"),
    "sae": BuiltInMethod("convscope.methods.concepts.sae", "a TopK sparse autoencoder"),
}

_REGISTERED: dict[str, type["ConceptDictionary"]] = {}

Method = TypeVar("Method", bound="type[ConceptDictionary]")


def dictionary_method(cls: Method) -> Method:
    """A class decorator that registers a dictionary method under its ``method`` name.

    Raises:
        ValueError: a method without a name, or with the name of one already registered.
    """
    if not cls.method or cls.method in _REGISTERED:
        raise ValueError(f"a dictionary method needs a name of its own, got {cls.method!r}")
    _REGISTERED[cls.method] = cls
    return cls


def forget_method(name: str) -> None:
    """Takes a method of one's own out of the registry."""
    _REGISTERED.pop(name, None)


def dictionary_methods() -> dict[str, type["ConceptDictionary"]]:
    """Every dictionary method by name, the built-in ones first (loaded now)."""
    for entry in BUILT_IN_METHODS.values():
        importlib.import_module(entry.module)
    return {**{name: _REGISTERED[name] for name in BUILT_IN_METHODS}, **_REGISTERED}


def dictionary_method_names() -> list[str]:
    """The methods' names, the built-in ones first, without loading any."""
    return [*BUILT_IN_METHODS, *(name for name in _REGISTERED if name not in BUILT_IN_METHODS)]


def dictionary_methods_help() -> str:
    """'the dictionary method: nmf: ...; sae: ...': each method with its line, without loading any."""
    abouts = {**{name: entry.about for name, entry in BUILT_IN_METHODS.items()},
              **{name: cls.about for name, cls in _REGISTERED.items()}}
    return "the dictionary method: " + "; ".join(f"{name}: {about}" for name, about in abouts.items())
