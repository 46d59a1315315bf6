"""Rules the source keeps as it grows: a function takes at most 8 parameters (a spec counts as
one), the source names a benchmark by its command, not by a section of BENCHMARKS.md
(sections move), and importing convscope loads no heavy optional module."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast  # `make check` runs this file


SOURCE = Path(__file__).resolve().parent.parent / "src" / "convscope"
MOST_PARAMETERS = 8


def parameter_count(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The parameters a caller can give (``self`` and ``cls`` left out; ``*args`` and
    ``**options`` count one each)."""
    arguments = function.args
    names = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs if a.arg not in ("self", "cls")]
    return len(names) + (arguments.vararg is not None) + (arguments.kwarg is not None)


def test_no_function_takes_more_than_eight_parameters():
    wide = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and parameter_count(node) > MOST_PARAMETERS:
                wide.append(f"{path.relative_to(SOURCE)}:{node.lineno} {node.name} ({parameter_count(node)})")
    assert not wide, "functions with more than 8 parameters: " + ", ".join(wide)


def test_the_counter_sees_every_kind_of_parameter():
    tree = ast.parse("def f(self, a, /, b, *rest, c, d=1, **options): pass")
    assert parameter_count(tree.body[0]) == 6


def test_no_source_file_cites_a_benchmarks_section():
    cited = [f"{path.relative_to(SOURCE)}:{number}" for path in sorted(SOURCE.rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), start=1)
             if re.search(r"BENCHMARKS(\.md)?\s*(§|section|#)\s*\d", line)]
    assert not cited, "name the benchmark by its command instead: " + ", ".join(cited)
