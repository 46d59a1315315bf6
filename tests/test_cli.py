"""The command line end to end, and what bad input gets."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from convscope.cli import main

pytestmark = pytest.mark.fast  # `make check` runs this file


BIN = Path(sys.executable).parent


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_console_script_runs_end_to_end(tmp_path, photo_files):
    result = subprocess.run([str(BIN / "convscope"), "classify", str(photo_files["chelsea"]), "--json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    top = json.loads(result.stdout)[0]["top"]
    assert 281 <= top[0]["index"] <= 285


def test_models_and_layers_json(capsys):
    code, out, _ = run(capsys, "models", "--json")
    assert code == 0 and "efficientnet-lite0" in [m["name"] for m in json.loads(out)]
    code, out, _ = run(capsys, "layers", "efficientnet-lite0", "--json")
    layers = json.loads(out)
    block8 = next(row for row in layers if row["name"] == "block8")
    assert code == 0 and block8 == {"name": "block8", "kind": "mbconv", "channels": 112, "shape": [112, 14, 14],
                                    "layout": "maps", "grid": [14, 14], "extra_tokens": 0, "main": True}


def test_classify_coffee(capsys, photo_files):
    code, out, _ = run(capsys, "classify", str(photo_files["coffee"]), "--top", "3", "--json")
    assert code == 0 and json.loads(out)[0]["top"][0]["name"] == "espresso"


def test_filter_writes_a_picture_and_reports(capsys, tmp_path):
    out_file = tmp_path / "f.png"
    code, out, _ = run(capsys, "filter", "efficientnet-lite0", "block5", "3", "-o", str(out_file),
                       "--recipe", "keras2016", "--size", "64", "--json")
    data = json.loads(out)
    assert code == 0 and data["activation"] > data["start"]
    assert Image.open(out_file).size == (64, 64)
    assert not list(tmp_path.glob("*.part"))


def test_grid_writes_sheets_and_sidecars_per_layer(capsys, tmp_path):
    out_file = tmp_path / "grid.png"
    code, out, _ = run(capsys, "grid", "efficientnet-lite0", "--layers", "block1,block4", "-o", str(out_file),
                       "--recipe", "keras2016", "--size", "32", "--candidates", "10", "--top", "4",
                       "--steps", "5", "--json")
    assert code == 0
    for layer in ("block1", "block4"):
        sheet = tmp_path / f"grid-{layer}.png"
        side = json.loads((tmp_path / f"grid-{layer}.png.json").read_text())
        assert side["layer"] == layer and 0 < len(side["tiles"]) <= 4
        n = math.ceil(math.sqrt(len(side["tiles"])))
        assert Image.open(sheet).size == (n * 32 + (n - 1) * 5,) * 2
        acts = [t["activation"] for t in side["tiles"]]
        assert acts == sorted(acts, reverse=True)


def test_render_objective_text(capsys, tmp_path):
    out_file = tmp_path / "r.png"
    code, out, _ = run(capsys, "render", "block5:1 - 0.5*block5:2", "-o", str(out_file), "--steps", "8",
                       "--size", "48", "--count", "2", "--json")
    data = json.loads(out)
    assert code == 0 and data["objective"] == "block5:1 - 0.5 * block5:2" and len(data["activation"]) == 2
    assert Image.open(out_file).size == (2 * 48 + 5, 2 * 48 + 5)


def test_stats_reports_ratios(capsys):
    code, out, _ = run(capsys, "stats", "efficientnet-lite0", "block6", "--units", "0-2", "--steps", "16",
                       "--size", "64", "--json")
    data = json.loads(out)
    assert code == 0 and [u["unit"] for u in data["units"]] == [0, 1, 2] and data["photos"] == 6
    for u in data["units"]:
        assert u["ratio"] is None or u["ratio"] == pytest.approx(u["activation"] / u["photo_max"])


def bad(capsys, tmp_path, *argv: str, match: str) -> None:
    out_file = tmp_path / "never.png"
    code, out, err = run(capsys, *[a.replace("OUT", str(out_file)) for a in argv])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and match in lines[0], err
    assert not out_file.exists() and not list(tmp_path.glob("*.part"))


def test_unknown_model(capsys, tmp_path):
    bad(capsys, tmp_path, "filter", "efficientnet-lite", "block8", "1", "-o", "OUT", match="efficientnet-lite0")


def test_unknown_layer_suggests(capsys, tmp_path):
    bad(capsys, tmp_path, "filter", "efficientnet-lite0", "blok8", "1", "-o", "OUT", match="'block8'")


def test_channel_out_of_range(capsys, tmp_path):
    bad(capsys, tmp_path, "filter", "efficientnet-lite0", "block8", "112", "-o", "OUT", match="112 channels")


def test_size_too_small(capsys, tmp_path):
    bad(capsys, tmp_path, "filter", "efficientnet-lite0", "block8", "1", "-o", "OUT", "--size", "8",
        match="at least 32")


@pytest.mark.parametrize("steps", ["0", "-3"])
def test_non_positive_steps(capsys, tmp_path, steps):
    bad(capsys, tmp_path, "filter", "efficientnet-lite0", "block8", "1", "-o", "OUT", "--steps", steps,
        match="steps must be positive")


def test_missing_image(capsys, tmp_path):
    bad(capsys, tmp_path, "classify", str(tmp_path / "nope.jpg"), match="not found")


def test_non_image_file(capsys, tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    bad(capsys, tmp_path, "classify", str(text), match="cannot read")


def test_bad_output_name(capsys, tmp_path):
    bad(capsys, tmp_path, "filter", "efficientnet-lite0", "block8", "1", "-o", str(tmp_path / "x.gif"),
        match=".png")


def test_bad_objective_text(capsys, tmp_path):
    bad(capsys, tmp_path, "render", "block8:12 - *3", "-o", "OUT", match="column 13")


def test_objective_with_unknown_layer(capsys, tmp_path):
    bad(capsys, tmp_path, "render", "blok8:12", "-o", "OUT", match="'block8'")
