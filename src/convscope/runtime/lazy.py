"""Names of a package that load their module when first used (PEP 562), so that importing the
package, or the command line's ``--help``, does not pay for torch.

A package lists what it offers once, as ordinary imports inside ``if TYPE_CHECKING:`` (type
checkers and editors read them as they are), and ends with
``__getattr__, __dir__ = lazy_exports(__name__, __file__)``: at run time those import lines are
read from the package's source and each name is imported from its module when first asked for.
"""
from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from typing import Any, Callable

_MISSING = object()


def exported_imports(source: str) -> dict[str, tuple[str, str]]:
    """The names imported inside a module's ``if TYPE_CHECKING:`` blocks.

    Args:
        source: the module's source text.
    Returns:
        Each name as the module offers it, with (the module it comes from, its name there).
    """
    found: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module is not None:
                    for alias in statement.names:
                        found[alias.asname or alias.name] = (statement.module, alias.name)
    return found


def lazy_exports(package: str, path: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose names load on first use.

    Args:
        package: the package's ``__name__``.
        path: the package's ``__file__`` (its ``if TYPE_CHECKING:`` imports are the names).
    Returns:
        ``__getattr__`` (imports a name's module, keeps the value on the package, returns it) and
        ``__dir__`` (the package's ``__all__``, or every name it offers).
    """
    exports = exported_imports(Path(path).read_text(encoding="utf-8"))

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, original = exports[name]
        value = getattr(importlib.import_module(module), original, _MISSING) if module != package else _MISSING
        if value is _MISSING:  # a module, such as ``from convscope.engine import objectives``
            value = importlib.import_module(f"{module}.{original}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(getattr(sys.modules[package], "__all__", exports))

    return __getattr__, __dir__
