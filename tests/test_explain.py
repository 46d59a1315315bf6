"""A photo explained by its units, on the real efficientnet-lite0: the page, its numbers, and a
real browser hovering its grid."""
from __future__ import annotations

import json
import subprocess
import time

import pytest
import torch

from convscope.io.builtin_photos import builtin_photo
from convscope.methods.classify import classify
from convscope.methods.explain import explain
from convscope.models.probe import Probe
from helpers import cli

pytestmark = pytest.mark.fast  # `make check` runs this file


@pytest.fixture(scope="module")
def page_folder(tmp_path_factory, photo_files):
    out = tmp_path_factory.mktemp("explain")
    run = cli("explain", str(photo_files["chelsea"]), "--layer",
                          "block10", "--out", str(out), "--steps", "4", "--max-units", "6", "--class-units", "4",
                          "--json")
    assert run.returncode == 0, run.stderr
    return out


def test_the_page_names_the_top_class_and_every_position(model, page_folder):
    data = json.loads((page_folder / "explain.json").read_text())
    top = classify(model, builtin_photo("chelsea").pixels, 1)[0]
    assert data["top_class"]["index"] == top.index
    page = (page_folder / "index.html").read_text()
    assert top.name in page
    h, w = data["grid"]
    assert len(data["positions"]) == h * w == page.count('class="cell"')
    for unit in {e["unit"] for row in data["positions"] for e in row} | {d["unit"] for d in data["class_units"]}:
        assert (page_folder / "units" / f"{unit:04d}.png").is_file()


def test_positions_list_the_units_that_fire_most_there(model):
    pixels = builtin_photo("coffee").pixels
    result = explain(model, pixels, "block8", per_position=2, max_units=5, class_units=3, steps=2)
    with torch.no_grad(), Probe(model, ["block8"]) as probe:
        maps = probe(model.prepare(pixels))["block8"][0]
    allowed = maps.flatten(1).amax(dim=1).argsort(descending=True)[:5].tolist()
    h, w = result.grid
    for p in (0, h * w // 2, h * w - 1):
        here = maps[allowed, p // w, p % w]
        best = [allowed[i] for i in here.argsort(descending=True)[:2].tolist()]
        assert [e["unit"] for e in result.positions[p]] == best
    contributions = [d["contribution"] for d in result.class_units]
    assert contributions == sorted(contributions, reverse=True)


def test_a_real_browser_shows_the_units_of_a_hovered_position(page_folder, chromium):
    from selenium.webdriver.common.action_chains import ActionChains

    driver = chromium
    all_loaded = "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
    driver.get((page_folder / "index.html").as_uri())
    cell = driver.find_elements("css selector", ".cell")[3]
    ActionChains(driver).move_to_element(cell).perform()
    deadline = time.time() + 30
    while not driver.execute_script(all_loaded) and time.time() < deadline:
        time.sleep(0.2)
    assert driver.execute_script(all_loaded)
    assert driver.find_element("id", "where").text == "position (3, 0)"
    assert len(driver.find_elements("css selector", "#panel img")) == 3
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []


def test_bad_explain_input_gets_one_line(tmp_path, photo_files):
    def explain_cli(*args: str) -> subprocess.CompletedProcess:
        return cli("explain", *args)

    for args, words in (((str(photo_files["chelsea"]), "--layer", "logits", "--out", str(tmp_path / "a")), "no positions"),
                        ((str(tmp_path / "none.jpg"), "--layer", "block8", "--out", str(tmp_path / "b")), "not found"),
                        ((str(photo_files["chelsea"]), "--layer", "block8", "--out", str(tmp_path / "c"),
                          "--per-position", "0"), "--per-position")):
        run = explain_cli(*args)
        assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert words in run.stderr


def test_pictures_come_from_an_atlas_folder_or_the_missing_ones_are_named(tmp_path):
    import numpy as np
    from PIL import Image

    from convscope.data.atlas_folder import AtlasFolderError, atlas_pictures

    folder = tmp_path / "units" / "block8"
    folder.mkdir(parents=True)
    Image.fromarray(np.full((8, 8, 3), 77, np.uint8)).save(folder / "0003.png")
    assert np.asarray(atlas_pictures(tmp_path, "block8", [3])[3])[0, 0, 0] == 77
    with pytest.raises(AtlasFolderError, match=r"block8 units \[5\]"):
        atlas_pictures(tmp_path, "block8", [3, 5])
