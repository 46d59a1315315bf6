"""Start-up: the command line lists its commands and their options without loading torch, and
the Python API loads no heavy optional module until a function needs it. Checked by the
modules a fresh process imports, not by timing."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.fast

OPTIONAL = ["scipy", "umap", "ray", "safetensors", "sklearn", "h5py", "onnx", "timm", "selenium", "pynndescent"]
"""Modules that load inside the function that needs them."""

EVERY_HELP = """
import contextlib, io, json, sys
from convscope.cli import main
from convscope.cli.parser import COMMANDS

for argv in ([], ["--version"], *([command.name, "--help"] for command in COMMANDS)):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(argv)
        except SystemExit:
            pass
print(json.dumps({"commands": len(COMMANDS), "loaded": sorted(set(sys.modules))}))
"""


def imported_modules(*args: str) -> set[str]:
    """The modules a fresh ``python -X importtime ARGS`` imports (from its import trace)."""
    run = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, check=True)
    return {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("argv", [["--version"], []], ids=["version", "bare"])
def test_the_command_line_starts_without_torch(argv: list[str]) -> None:
    modules = imported_modules("-m", "convscope", *argv)
    assert "convscope.cli.parser" in modules  # the trace saw the command line being built
    assert "torch" not in modules and "numpy" not in modules


def test_every_command_help_needs_no_torch() -> None:
    run = subprocess.run([sys.executable, "-c", EVERY_HELP], capture_output=True, text=True, check=True)
    found = json.loads(run.stdout)
    assert found["commands"] >= 19
    assert not {"torch", "numpy", "PIL", "scipy"} & set(found["loaded"])


def test_import_convscope_loads_the_api_on_first_use_and_no_optional_module() -> None:
    assert "torch" not in imported_modules("-c", "import convscope")
    probe = ("import sys, json, convscope\n"
             "[getattr(convscope, name) for name in convscope.__all__]\n"
             "print(json.dumps(sorted(set(sys.modules))))")
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                           check=True).stdout))
    assert "torch" in loaded and "convscope.engine.render" in loaded  # every name of the API was loaded
    assert not {name for name in loaded if name.split(".")[0] in OPTIONAL}
