"""The README, the documentation and the notebook tour: the gallery's commands are the ones that
make its pictures, and the tour runs top to bottom."""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from convscope.data.layer_files import SUMMARY_FILE

ROOT = Path(__file__).resolve().parent.parent


def gallery_script():
    spec = importlib.util.spec_from_file_location("gallery", ROOT / "examples" / "gallery.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_readme_gallery_shows_each_picture_with_the_command_that_made_it():
    gallery = gallery_script()
    readme = (ROOT / "README.md").read_text()
    shown = re.findall(r"!\[[^\]]*\]\(docs/gallery/([\w-]+)\.jpg\)", readme)
    assert shown == [shot.name for shot in gallery.GALLERY]
    for shot in gallery.GALLERY:
        cell = next(line for line in readme.splitlines() if f"docs/gallery/{shot.name}.jpg" in line)
        assert f"`{shot.command}`" in cell, shot.name
        picture = ROOT / "docs" / "gallery" / f"{shot.name}.jpg"
        assert picture.is_file() and picture.stat().st_size <= gallery.MAX_BYTES
    for command in gallery.PREPARE:
        assert f"`{command}`" in readme


def test_readme_is_short_and_opens_with_pictures():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < 250
    assert any("docs/gallery/" in line for line in lines[:30])


def test_the_tour_is_stored_without_outputs_and_runs_top_to_bottom(tmp_path):
    path = ROOT / "examples" / "tour.ipynb"
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert code[0].source.startswith("QUICK = True")
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    pictures = [cell for cell in code if any("image/png" in out.get("data", {}) for out in cell.outputs)]
    assert len(pictures) >= 7  # filter, grid, objective, maco (and its map), dream, class, atlas
    errors = [out for cell in code for out in cell.outputs if out.output_type == "error"]
    assert not errors
    bars = [cell for cell in code if any("application/vnd.jupyter.widget-view+json" in out.get("data", {})
                                         for out in cell.outputs)]
    assert len(bars) >= 5  # the long calls show a progress widget by default
    assert (tmp_path / "tour-atlas" / "index.html").is_file()
    summary = json.loads((tmp_path / "tour-exemplars" / SUMMARY_FILE).read_text())
    assert len(summary["files"]) == 12  # six photos and their mirror images


def test_readme_lists_every_command():
    from convscope.cli.parser import build_parser

    readme = (ROOT / "README.md").read_text()
    table = [line for line in readme.splitlines() if line.startswith("| `")]
    for name, _ in build_parser().commands:
        assert any(f"`{name}`" in line.split("|")[1] for line in table), name
