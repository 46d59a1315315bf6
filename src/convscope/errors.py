"""Errors the library raises: each message says what went wrong and what to do."""
from __future__ import annotations

import difflib
from typing import Iterable


class ConvscopeError(Exception):
    """Base class of every error convscope raises on bad input."""


class UnknownNameError(ConvscopeError, KeyError):
    """A model, layer or class name that does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class OutOfRangeError(ConvscopeError, ValueError):
    """A number outside what the model or option allows."""


class ImageInputError(ConvscopeError, ValueError):
    """A photo that is missing, unreadable, or too small."""


class WeightsError(ConvscopeError, ValueError):
    """A weights file that does not fit the architecture."""


class ObjectiveSyntaxError(ConvscopeError, ValueError):
    """An objective text that does not parse."""


class MissingExtraError(ConvscopeError, ImportError):
    """An optional dependency that is not installed; the message says how to install it."""


def closest(name: str, choices: Iterable[str], n: int = 5) -> list[str]:
    """The names among ``choices`` that look most like ``name``."""
    choices = list(choices)
    found = difflib.get_close_matches(name, choices, n=n, cutoff=0.5)
    if not found:
        lowered = name.lower()
        found = [c for c in choices if lowered in c.lower()][:n]
    return found


def unknown(kind: str, name: str, choices: Iterable[str]) -> UnknownNameError:
    """An error for an unknown ``kind`` called ``name``, suggesting close choices."""
    choices = list(choices)
    near = closest(name, choices)
    if near:
        hint = "did you mean " + ", ".join(repr(c) for c in near) + "?"
    elif len(choices) <= 12:
        hint = "choose one of " + ", ".join(choices)
    else:
        hint = f"there are {len(choices)} to choose from"
    return UnknownNameError(f"unknown {kind} {name!r}: {hint}")
