"""A user's own code, named ``path/to/file.py:function``: the file imported, the function found."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable

from convscope.errors import ConvscopeError

USER_MODULE_PREFIX = "convscope_user_"


class UserCodeError(ConvscopeError):
    """A ``file.py:function`` that cannot be imported, found or called."""


def user_modules() -> list[ModuleType]:
    """The users' files this process has imported (networks, recipes), as modules; a cluster
    sends their code to its workers by value, since the workers cannot import them by name."""
    return [module for name, module in sorted(sys.modules.items()) if name.startswith(USER_MODULE_PREFIX)]


def is_user_spec(text: str) -> bool:
    """Whether ``text`` names a user's function as ``path/to/file.py:function``."""
    return ".py:" in text


def user_function(spec: str, what: str, error: type[ConvscopeError] = UserCodeError) -> Callable[..., object]:
    """The function ``spec`` (``path/to/file.py:function``) names, its file imported.

    Args:
        spec: the file and the function's name, joined by a colon.
        what: what the function makes ("network", "recipe"), for the messages.
        error: the error class raised for a spec that does not lead to a function.
    Returns:
        The function, not yet called.
    Raises:
        error: the spec is malformed, the file is missing or fails to import, or it has no such
            function.
    """
    path_text, _, name = spec.rpartition(":")
    path = Path(path_text)
    if not name or path.suffix != ".py":
        raise error(f"{spec!r}: write a user {what} as path/to/file.py:function")
    if not path.is_file():
        raise error(f"{what} file not found: {path}")
    module_name = f"{USER_MODULE_PREFIX}{path.stem}"
    try:
        found = importlib.util.spec_from_file_location(module_name, path)
        if found is None or found.loader is None:
            raise ImportError("not a Python file")
        source = importlib.util.module_from_spec(found)
        sys.modules[module_name] = source
        found.loader.exec_module(source)
    except Exception as e:  # the user's file can raise anything while importing
        raise error(f"cannot import {path}: {type(e).__name__}: {e}") from e
    function = getattr(source, name, None)
    if not callable(function):
        names = [n for n in vars(source) if callable(vars(source)[n]) and not n.startswith("_")]
        raise error(f"{path} has no function {name!r} (it has: {', '.join(names) or 'none'})")
    return function


def call_user_function(spec: str, what: str, error: type[ConvscopeError] = UserCodeError) -> object:
    """What the function ``spec`` names returns when called without arguments (see
    ``user_function``); a failure inside it is raised as ``error`` naming the spec."""
    function = user_function(spec, what, error)
    try:
        return function()
    except ConvscopeError:
        raise
    except Exception as e:
        raise error(f"{spec}() failed: {type(e).__name__}: {e}") from e
