"""The activation atlas on the real efficientnet-lite0: the sampled vectors are the layer's,
cells hold their points, a rerun renders nothing, a real browser shows and zooms the page,
and bad input gets one line."""
from __future__ import annotations

import json
import subprocess
import time

import numpy as np
import pytest
import torch
from PIL import Image

from convscope.data.activation_atlas_record import ActivationAtlasRecord, CellRecord
from convscope.data.activation_samples import sample_activations
from convscope.data.photo_stream import read_square
from convscope.jobs.activation_atlas import grid_cells
from convscope.models.probe import Probe
from convscope.runtime.record import RecordError
from helpers import cli

GRID, SAMPLES = 4, 240


def atlas_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return cli("activation-atlas", *args, env=env)


@pytest.fixture(scope="module")
def atlas_folder(tmp_path_factory, photo_folder):
    out = tmp_path_factory.mktemp("activation-atlas")
    run = atlas_cli("efficientnet-lite0", "block8", "--photos", str(photo_folder), "--out", str(out), "--grid", str(GRID),
              "--samples", str(SAMPLES), "--steps", "4", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["rendered"] == data["cells"] > 0 and data["samples"] == SAMPLES and data["photos"] == 12
    return out


def test_the_sampled_vectors_are_the_layers_activations(model, atlas_folder, photo_folder):
    sample = sample_activations(model, "block8", photo_folder, atlas_folder, samples=SAMPLES)  # read back
    assert sample.vectors.shape == (SAMPLES, model.layer("block8").channels)
    assert len(set(sample.photos.tolist())) == 12  # every photo contributes
    with torch.no_grad(), Probe(model, ["block8"]) as probe:
        for i in (0, 77, SAMPLES - 1):
            pixels = read_square(photo_folder / sample.files[sample.photos[i]], model.input_size)
            image = torch.from_numpy(pixels).permute(2, 0, 1)[None].float().div(255)
            y, x = sample.positions[i]
            expected = probe(image)["block8"][0, :, y, x]
            torch.testing.assert_close(torch.from_numpy(sample.vectors[i]), expected, atol=1e-4, rtol=1e-4)


def test_cells_hold_their_points():
    layout = np.array([[0.0, 0.0], [0.1, 0.1], [0.2, 0.05], [0.99, 0.99], [1.0, 1.0], [0.6, 0.1]], dtype=np.float32)
    cells = grid_cells(layout, 2, min_count=2)
    assert [(c.row, c.column, c.members) for c in cells] == [(0, 1, (3, 4)), (1, 0, (0, 1, 2))]
    assert grid_cells(layout, 2, min_count=4) == []


def test_the_atlas_records_every_cell(model, atlas_folder, photo_folder):
    atlas = json.loads((atlas_folder / "activation-atlas.json").read_text())
    assert atlas["layer"] == "block8" and atlas["grid"] == GRID
    counts = [c["count"] for c in atlas["cells"]]
    assert min(counts) >= atlas["min_count"] and sum(counts) <= SAMPLES
    for cell in atlas["cells"]:
        assert (atlas_folder / "cells" / f"{cell['name']}.png").is_file()
        assert (atlas_folder / "cells" / f"{cell['name']}.photos.png").is_file()
        assert len(cell["classes"]) == 3 and cell["classes"][0]["name"] == model.class_name(cell["classes"][0]["index"])
        assert 1 <= len(cell["photos"]) <= 4 and all((photo_folder / p["file"]).is_file() for p in cell["photos"])
    assert Image.open(atlas_folder / "atlas.png").size == (GRID * 64, GRID * 64)


def test_the_typed_record_keeps_the_file_and_refuses_another_version(atlas_folder):
    content = json.loads((atlas_folder / "activation-atlas.json").read_text())
    record = ActivationAtlasRecord.from_json(content)
    assert record.to_json() == content and list(record.to_json()) == list(content)  # same keys, same order
    assert record.cells[0].classes[0].probability == content["cells"][0]["classes"][0]["probability"]
    cell = json.loads((atlas_folder / "cells" / f"{record.cells[0].name}.json").read_text())
    assert CellRecord.from_json(cell) == record.cells[0]
    del content["cells"][0]["count"]
    with pytest.raises(RecordError, match="lacks 'count'.*rerun"):
        ActivationAtlasRecord.from_json(content, "activation-atlas.json")


def test_a_rerun_renders_nothing_and_changes_nothing(atlas_folder, photo_folder):
    before = (atlas_folder / "activation-atlas.json").read_bytes()
    run = atlas_cli("efficientnet-lite0", "block8", "--photos", str(photo_folder), "--out", str(atlas_folder), "--grid",
              str(GRID), "--samples", str(SAMPLES), "--steps", "4", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["rendered"] == 0
    assert (atlas_folder / "activation-atlas.json").read_bytes() == before


def test_a_real_browser_shows_and_zooms_the_atlas(atlas_folder, chromium):
    driver = chromium
    all_loaded = "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
    driver.get((atlas_folder / "index.html").as_uri())
    cells = driver.find_elements("css selector", ".sheet button")
    cells[-1].click()
    deadline = time.time() + 30
    while not driver.execute_script(all_loaded) and time.time() < deadline:
        time.sleep(0.2)
    assert driver.execute_script(all_loaded)
    atlas = json.loads((atlas_folder / "activation-atlas.json").read_text())
    last = atlas["cells"][-1]
    assert driver.find_element("id", "title").text.startswith(f"cell {last['name']}: {last['count']}")
    assert len(driver.find_elements("css selector", "#classes li")) == 3
    width = driver.execute_script("return document.getElementById('sheet').offsetWidth")
    driver.find_element("id", "in").click()
    assert driver.execute_script("return document.getElementById('sheet').offsetWidth") == 2 * width
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []


def test_bad_activation_atlas_input_gets_one_line(tmp_path, photo_folder):
    empty = tmp_path / "empty"
    empty.mkdir()
    shim = tmp_path / "no-umap"
    (shim / "umap").mkdir(parents=True)
    (shim / "umap" / "__init__.py").write_text("raise ImportError('No module named umap')\n")
    hidden = {**__import__("os").environ, "PYTHONPATH": str(shim)}
    photos = str(photo_folder)
    for args, words, env in (
            (("block8", "--photos", photos, "--grid", "0"), "--grid", None),
            (("logits", "--photos", photos), "no positions", None),
            (("block8", "--photos", str(empty)), "no photos", None),
            (("block8", "--photos", photos), "pip install", hidden)):
        out = tmp_path / "out"
        run = atlas_cli("efficientnet-lite0", *args, "--out", str(out), env=env)
        assert run.returncode == 2, (args, run.stderr)
        assert words in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert not out.exists()
