"""The atlas: end to end, killed and resumed, locked, escaped, and opened in a real browser."""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

import convscope
from convscope import models
from convscope.data.atlas_record import AtlasRecord, UnitRecord
from convscope.jobs.atlas.store import same_tree
from convscope.jobs.job_folder import JobFolderError
from convscope.pages.atlas_site import render_index
from convscope.runtime.record import RecordError
from helpers import assert_one_line_error

SMALL = ["--layers", "stem,block1", "--steps", "3", "--size", "48", "--batch", "16", "--seed", "4"]
ARTIFACTS = Path(os.environ.get("CONVSCOPE_TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))


def atlas_command(out: Path) -> list[str]:
    return [sys.executable, "-m", "convscope", "atlas", "efficientnet-lite0", "--out", str(out), *SMALL]


@pytest.fixture(scope="module")
def clean_atlas(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "atlas"
    subprocess.run(atlas_command(out), check=True, capture_output=True, timeout=600)
    return out


def records(out: Path) -> list[Path]:
    return sorted(out.glob("units/*/*.json"))


def test_small_atlas_end_to_end(clean_atlas):
    atlas = json.loads((clean_atlas / "atlas.json").read_text())
    assert [l["name"] for l in atlas["layers"]] == ["stem", "block1"]
    assert [len(l["units"]) for l in atlas["layers"]] == [32, 24]
    unit = atlas["layers"][1]["units"][5]
    assert unit["channel"] == 5 and len(unit["top_photos"]) == 3
    assert unit["ratio"] is None or unit["ratio"] == pytest.approx(unit["activation"] / unit["photo_max"])
    for name in ("0005.png", "0005.thumb.png", "0005.top1.png", "0005.html", "0005.json"):
        assert (clean_atlas / "units" / "block1" / name).is_file()
    index = (clean_atlas / "index.html").read_text()
    assert index.count('loading="lazy"') == 56 and "units/block1/0005.html" in index
    assert "http://" not in index and "https://" not in index


def test_the_typed_records_keep_the_files_and_refuse_other_versions(tmp_path, clean_atlas):
    text = (clean_atlas / "atlas.json").read_text()
    record = AtlasRecord.from_json(json.loads(text))
    assert json.dumps(record.to_json()) == json.dumps(json.loads(text))  # every key, in its order
    unit = record.layers[1].units[5]
    assert (unit.layer, unit.channel, unit.label) == ("block1", 5, "block1:5") and len(unit.top_photos) == 3
    stored = json.loads((clean_atlas / "units" / "block1" / "0005.json").read_text())
    assert UnitRecord.from_json(stored).to_json() == stored
    # a folder's index rebuilt from the typed record is the same page
    assert render_index(record) == (clean_atlas / "index.html").read_text()
    old = {k: v for k, v in stored.items() if k != "top_photos"}
    with pytest.raises(RecordError, match="lacks 'top_photos'.*rerun") as error:
        UnitRecord.from_json(old, "0005.json")
    assert "\n" not in str(error.value)


def test_kill_9_then_resume_gives_the_same_atlas(tmp_path, clean_atlas):
    out = tmp_path / "atlas"
    child = subprocess.Popen(atlas_command(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kill_after = random.randint(1, 40)  # units finished; the last batch (8 units) is still to come
    deadline = time.time() + 300
    while len(records(out)) < kill_after and time.time() < deadline and child.poll() is None:
        time.sleep(0.01)
    time.sleep(random.uniform(0, 0.05))
    child.send_signal(signal.SIGKILL)
    child.wait()
    finished = len(records(out))
    assert 0 < finished < 56, "the kill should land in the middle of the job"
    assert not (out / "index.html").exists()
    result = subprocess.run(atlas_command(out), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"({56 - finished} rendered now" in result.stdout
    assert same_tree(out, clean_atlas) == []


def test_an_atlas_rendered_in_parts_ends_as_one_run(tmp_path, clean_atlas):
    """--units renders only the batches that hold those units; the site shows them; a run without
    --units completes the atlas to the files of one clean run."""
    out = tmp_path / "atlas"
    part = subprocess.run([*atlas_command(out), "--units", "20", "--json"], capture_output=True, text=True,
                          timeout=600)
    assert part.returncode == 0, part.stderr
    data = json.loads(part.stdout)
    assert (data["units"], data["present"], data["rendered"]) == (56, 24, 24)  # stem's batch 16-31, block1's 16-23
    atlas = json.loads((out / "atlas.json").read_text())
    assert [[u["channel"] for u in layer["units"]] for layer in atlas["layers"]] == [list(range(16, 32)),
                                                                                   list(range(16, 24))]
    index = (out / "index.html").read_text()
    assert "16 of 32 rendered" in index and "8 of 24 rendered" in index
    for link in re.findall(r'href="([^"#]+)"', index):
        assert (out / link).is_file(), link
    whole = subprocess.run(atlas_command(out), capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0 and "(32 rendered now, 24 already there)" in whole.stdout, whole.stdout
    assert same_tree(out, clean_atlas) == []
    refused = subprocess.run([*atlas_command(tmp_path / "other"), "--units", "99"], capture_output=True, text=True)
    assert_one_line_error(refused, "beyond every layer's units")


def test_a_last_batch_too_small_for_the_trust_controls_joins_the_one_before():
    from convscope.jobs.atlas.builder import unit_batches

    assert unit_batches(16, 5) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13, 14, 15]]
    assert unit_batches(14, 5) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13]]  # 4: each has 3 others
    assert unit_batches(3, 32) == [[0, 1, 2]]


def test_a_second_run_on_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "atlas"
    child = subprocess.Popen(atlas_command(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (out / "atlas-config.json").exists() and time.time() < deadline:
            time.sleep(0.05)
        with pytest.raises(JobFolderError, match=rf"is being written by process {child.pid}"):
            convscope.atlas(models.load(), out, recipe=convscope.get_recipe("lucid", steps=3, size=48),
                            layers=["stem"], batch=16, seed=4)
    finally:
        child.kill()
        child.wait()


def test_other_settings_are_refused_unless_forced(tmp_path, clean_atlas):
    out = tmp_path / "atlas"
    shutil.copytree(clean_atlas, out)
    model = models.load()
    with pytest.raises(JobFolderError, match="other settings"):
        convscope.atlas(model, out, recipe=convscope.get_recipe("keras2016", steps=3, size=48), layers=["stem"], batch=16, seed=4)
    summary = convscope.atlas(model, out, recipe=convscope.get_recipe("lucid", steps=2, size=48),
                              layers=["block0"], batch=16, seed=1, force=True)
    assert summary.rendered == 16 and not (out / "units" / "stem").exists()


def test_bad_folders(tmp_path):
    model = models.load()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(JobFolderError, match="is a file"):
        convscope.atlas(model, a_file, layers=["stem"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(Exception, match="no photos in"):
        convscope.atlas(model, tmp_path / "out", layers=["stem"], photos=empty)


def hostile_model():
    net = nn.Sequential()
    net.add_module("<script>alert(1)</script>", nn.Conv2d(3, 4, 3, padding=1))
    net.add_module("pool", nn.AdaptiveAvgPool2d(1))
    net.add_module("flat", nn.Flatten())
    net.add_module("fc", nn.Linear(4, 3))
    torch.manual_seed(0)
    labels = ['<img src=x onerror="alert(2)">', "plain & simple", "ok"]
    return models.wrap(net, input_size=48, labels=labels, name="<b>evil</b>")


def test_hostile_names_are_escaped(tmp_path):
    out = tmp_path / "atlas"
    convscope.atlas(hostile_model(), out, recipe=convscope.get_recipe("lucid", steps=2, size=32), batch=8)
    pages = [out / "index.html", *out.glob("units/*/*.html")]
    text = "\n".join(p.read_text() for p in pages)
    assert "<script>alert" not in text and "<img src=x" not in text and "<b>evil" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "plain &amp; simple" in text
    atlas = json.loads((out / "atlas.json").read_text())
    logits = [l for l in atlas["layers"] if l["name"] == "logits"][0]
    assert logits["units"][0]["class_name"] == labels_of_hostile()[0]
    conv = atlas["layers"][0]["units"][0]
    assert len(conv["drives"]) == 3  # the last conv layer lists the classes it drives
    index = (out / "index.html").read_text()
    entries = json.loads(re.search(r'<script type="application/json" id="search-index">(.*?)</script>', index,
                                   re.S).group(1))
    found = [e for e in entries if "simple" in e["words"].split()]  # a class's name finds its unit, and its drivers
    assert "logits:1 (plain & simple)" in [e["title"] for e in found] and len(found) >= 2


def labels_of_hostile() -> list[str]:
    return hostile_model().labels


def test_real_browser_opens_the_site_from_disk(clean_atlas, chromium):
    driver = chromium
    all_loaded = ("return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0) "
                  "&& document.images.length")
    driver.get((clean_atlas / "index.html").as_uri())
    driver.execute_script("for (const i of document.images) i.loading = 'eager';")
    deadline = time.time() + 30
    while not driver.execute_script(all_loaded) and time.time() < deadline:
        time.sleep(0.2)
    assert driver.execute_script(all_loaded) == 56
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "atlas-index.png"))
    driver.find_element("css selector", 'a[href="units/block1/0003.html"]').click()
    deadline = time.time() + 30
    while not driver.execute_script(all_loaded) and time.time() < deadline:
        time.sleep(0.2)
    assert driver.current_url.endswith("units/block1/0003.html")
    assert driver.execute_script(all_loaded) == 5  # the picture, with its importance map, three photo crops
    driver.save_screenshot(str(ARTIFACTS / "atlas-unit.png"))
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_every_link_of_the_site_resolves_to_the_right_page(clean_atlas):
    """Each href and src of every page names an existing file; the neighbour links of a unit
    page lead to the unit they are labelled with, across layers too."""
    import re
    from html import unescape
    from urllib.parse import unquote

    pages = [clean_atlas / "index.html", *sorted(clean_atlas.glob("units/*/*.html"))]
    checked = 0
    for page in pages:
        text = page.read_text()
        for target in re.findall(r'(?:href|src)="([^"#]+)', text):
            assert (page.parent / unquote(target)).resolve().is_file(), f"{page.name}: {target}"
            checked += 1
        for target, label in re.findall(r'<a href="([^"#]+)">(?:&larr; )?([^<]+?)(?: &rarr;)?</a>', text):
            title = (page.parent / unquote(target)).read_text()
            assert f"&middot; {label.strip()}</h1>" in title, f"{page}: {target} is not {unescape(label)}"
    assert checked > 500
    last_stem = (clean_atlas / "units" / "stem" / "0031.html").read_text()
    first_block = (clean_atlas / "units" / "block1" / "0000.html").read_text()
    assert 'href="../block1/0000.html"' in last_stem and 'href="../stem/0031.html"' in first_block


def test_unit_pages_caption_their_crops_and_show_first_layer_kernels(clean_atlas):
    page = (clean_atlas / "units" / "block1" / "0002.html").read_text()
    record = json.loads((clean_atlas / "units" / "block1" / "0002.json").read_text())
    assert page.count("<figcaption>") == 2 + len(record["top_photos"])  # picture, importance, crops
    assert (clean_atlas / "units" / "block1" / "0002.alpha.png").is_file() and "centre_share" in record["importance"]
    assert f"{record['top_photos'][0]['photo']}: peak" in page
    stem = json.loads((clean_atlas / "units" / "stem" / "0003.json").read_text())
    assert stem["kernel"] and stem["objective"] == "stem:3@c" and stem["after"] == "ReLU6"
    assert (clean_atlas / "units" / "stem" / "0003.kernel.png").is_file()
    assert "0003.kernel.png" in (clean_atlas / "units" / "stem" / "0003.html").read_text()
    assert stem["ratio_after"] is None or stem["ratio_after"] == pytest.approx(
        stem["activation_after"] / stem["photo_max_after"])
    layers = json.loads((clean_atlas / "atlas.json").read_text())["layers"]
    assert layers[0]["read"] == "before ReLU6" and "read" not in layers[1]


def test_a_changed_batch_names_both_values(tmp_path, clean_atlas):
    out = tmp_path / "atlas"
    shutil.copytree(clean_atlas, out)
    with pytest.raises(JobFolderError, match=r"batch: 16 in the folder, 32 now.*batch 16"):
        convscope.atlas(models.load(), out, recipe=convscope.get_recipe("lucid", steps=3, size=48),
                        layers=["stem", "block1"], batch=32, seed=4)


def test_a_user_network_atlas_takes_its_conv_and_block_layers(tmp_path):
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.conv(x)) + x

    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Sequential(Block(), Block()),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    model = models.wrap(net, input_size=32)
    assert model.main_layers == ["0", "2.0.conv", "2.0", "2.1.conv", "2.1", "2", "logits"]  # in output order
    summary = convscope.atlas(model, tmp_path / "a", recipe=convscope.get_recipe("lucid", steps=1, size=32))
    assert summary.layers == model.main_layers
    with pytest.raises(Exception, match="has the layers 0, 2.0.conv, 2.0"):
        model.layer("3x")
