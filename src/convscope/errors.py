"""Errors the library raises: each message says what went wrong and what to do.

A message names the caller's options by their parameter names, written ``{name}`` in the
message and listed in ``options``: ``str(error)`` writes each as the parameter's name (as a
Python caller knows it), and ``error.worded(spell)`` as the caller spells it (the command line
writes its flags).
"""
from __future__ import annotations

import difflib
import re
from typing import Callable, Iterable, Sequence


class ConvscopeError(Exception):
    """Base class of every error convscope raises on bad input.

    Args:
        message: what went wrong and what to do; ``{name}`` stands for option ``name``.
        options: the options the message names, the one the error came from first.
    """

    def __init__(self, message: str, *, options: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.template = message
        self.options = tuple(options)

    @property
    def option(self) -> str | None:
        """The option the error came from, if one did."""
        return self.options[0] if self.options else None

    def worded(self, spell: Callable[[str], str] = str) -> str:
        """The message with each option written as ``spell(name)``."""
        if not self.options:
            return self.template
        names = "|".join(re.escape(name) for name in self.options)
        return re.sub(r"\{(" + names + r")\}", lambda m: spell(m.group(1)), self.template)

    def __str__(self) -> str:
        return self.worded()


class UnknownNameError(ConvscopeError, KeyError):
    """A model, layer or class name that does not exist."""


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
