"""Dataset examples from a photo folder: one streaming pass on the real efficientnet-lite0,
equal to a brute-force computation, resumable to identical files."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import convscope
from convscope.data.exemplars_record import ExemplarsRecord
from convscope.data.layer_files import load_layer_file
from convscope.data.photo_pass import SAVED_KINDS
from convscope.data.photo_stream import photo_files, read_square
from convscope.io.builtin_photos import builtin_photos
from convscope.jobs.exemplars import STATE_FILE
from convscope.models.probe import Probe
from helpers import assert_one_line_error, cli

LAYERS = ["block3", "head", "logits"]


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> Path:
    """60 photos made from the built-in ones (crops, flips, rescales) in nested folders, plus a
    file that is no image and a 1x1 pixel photo."""
    root = tmp_path_factory.mktemp("dataset")
    rng = np.random.default_rng(0)
    photos = builtin_photos()
    for i in range(60):
        pixels = photos[i % 6].pixels
        h, w = pixels.shape[:2]
        side = int(min(h, w) * rng.uniform(0.4, 1.0))
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = pixels[top:top + side, left:left + side]
        crop = crop[:, ::-1] if i % 2 else crop
        folder = root / ("n01" if i < 30 else "n02/deeper")
        folder.mkdir(parents=True, exist_ok=True)
        scale = rng.uniform(0.5, 1.2)
        Image.fromarray(np.ascontiguousarray(crop)).resize((int(side * scale), int(side * scale))) \
            .save(folder / f"photo{i:03d}.{'jpg' if i % 3 else 'png'}")
    (root / "n01" / "broken.jpg").write_text("not an image")
    Image.new("RGB", (1, 1)).save(root / "tiny.png")
    return root


def test_streaming_top_k_equals_brute_force(model, photo_folder, tmp_path):
    run = convscope.exemplars(model, photo_folder, tmp_path / "out", LAYERS, top=5, batch=8, workers=2)
    files = photo_files(photo_folder)
    assert len(files) == 62 and len(run.skipped) == 2
    assert {Path(s["file"]).name for s in run.skipped} == {"broken.jpg", "tiny.png"}
    readable = [i for i, f in enumerate(files) if f.name not in ("broken.jpg", "tiny.png")]
    images = torch.stack([torch.from_numpy(read_square(files[i], 224)).permute(2, 0, 1) for i in readable])
    with torch.no_grad(), Probe(model, LAYERS) as probe:
        acts = {name: torch.cat([probe(images[s:s + 16].float() / 255)[name] for s in range(0, len(images), 16)])
                for name in LAYERS}
    ids = torch.tensor(readable)
    for name in LAYERS:
        arrays, meta = load_layer_file(tmp_path / "out" / f"{name}.npz")
        assert meta["photos_read"] == 60
        flat = acts[name].reshape(*acts[name].shape[:2], -1)
        peaks, where = flat.max(dim=2)
        means = flat.mean(dim=2)
        for values, photos, key in ((peaks, "peak_photos", "peak_values"), (means, "mean_photos", "mean_values")):
            best, order = values.T.sort(dim=1, descending=True, stable=True)
            np.testing.assert_allclose(arrays[key], best[:, :5].numpy(), rtol=1e-4, atol=1e-4)
            agree = (arrays[photos] == ids[order[:, :5]].numpy()).mean()
            assert agree > 0.99  # equal but where two photos tie to float rounding
        np.testing.assert_allclose(arrays["running_mean"], means.mean(dim=0).numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(arrays["max_peak"], peaks.max(dim=0).values.numpy(), rtol=1e-4, atol=1e-4)
        if acts[name].dim() == 4:  # the position of the best peak, in the layer's map
            unit = int(arrays["max_peak"].argmax())
            y, x = arrays["peak_positions"][unit, 0]
            best_photo = readable.index(int(arrays["peak_photos"][unit, 0]))
            assert abs(float(acts[name][best_photo, unit, y, x]) - float(arrays["peak_values"][unit, 0])) < 1e-4


def saved_shards(path: Path) -> int:
    """The shards merged in a saved state."""
    with torch.serialization.safe_globals(SAVED_KINDS):
        return torch.load(path, weights_only=True)["state"].merged


def test_a_killed_pass_resumes_to_identical_files(photo_folder, tmp_path):
    args = ["exemplars", "efficientnet-lite0", "--photos", str(photo_folder), "--layers", "block3,logits",
            "--batch", "4", "--workers", "0", "--checkpoint-every", "1", "--top", "3"]
    clean = cli(*args, "--out", str(tmp_path / "clean"))
    assert clean.returncode == 0, clean.stderr
    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "convscope", *args, "--out", str(killed)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    rng = np.random.default_rng()
    wait_for = int(rng.integers(1, 4))  # kill at a random shard (of 4), after some checkpoints
    while time.time() < deadline and process.poll() is None:
        state = killed / STATE_FILE
        if state.exists() and saved_shards(state) >= wait_for:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (killed / STATE_FILE).exists() and not (killed / "block3.npz").exists()
    resumed = cli(*args, "--out", str(killed))
    assert resumed.returncode == 0, resumed.stderr
    for name in ("block3.npz", "logits.npz", "exemplars.json"):
        assert (killed / name).read_bytes() == (tmp_path / "clean" / name).read_bytes(), name
    assert not (killed / STATE_FILE).exists()


def test_a_finished_pass_is_reused(model, photo_folder, tmp_path):
    first = convscope.exemplars(model, photo_folder, tmp_path, ["block3"], top=2, batch=16, workers=0)
    stamp = (tmp_path / "block3.npz").stat().st_mtime_ns
    again = convscope.exemplars(model, photo_folder, tmp_path, ["block3"], top=2, batch=16, workers=0)
    assert (tmp_path / "block3.npz").stat().st_mtime_ns == stamp
    assert torch.equal(first.layers["block3"].peak_photos, again.layers["block3"].peak_photos)
    written = json.loads((tmp_path / "exemplars.json").read_text())
    record = ExemplarsRecord.from_json(written)  # the typed record keeps the file: same keys, same order
    assert list(record.to_json().items()) == list(written.items()) and record.files == again.files
    written.pop("layer_files")  # a file of another version is read again, not trusted
    (tmp_path / "exemplars.json").write_text(json.dumps(written))
    convscope.exemplars(model, photo_folder, tmp_path, ["block3"], top=2, batch=16, workers=0)
    assert (tmp_path / "block3.npz").stat().st_mtime_ns != stamp


def test_bad_folders_get_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    assert_one_line_error(cli("exemplars", "efficientnet-lite0", "--photos", str(empty), "--out", str(out)),
                          "no photos in")
    junk = tmp_path / "junk"
    junk.mkdir()
    for i in range(4):
        (junk / f"f{i}.jpg").write_text("text")
    run = cli("exemplars", "efficientnet-lite0", "--photos", str(junk), "--out", str(out), "--workers", "0")
    assert run.returncode == 2 and "none of the 4 files" in run.stderr
    assert "Traceback" not in run.stderr
    assert not out.exists() or not any(out.iterdir())
    assert_one_line_error(cli("exemplars", "efficientnet-lite0", "--photos", str(junk), "--out", str(out),
                              "--top", "0"), "--top")


def test_a_huge_photo_is_resized_without_trouble(tmp_path):
    wide = tmp_path / "wide.png"
    Image.new("RGB", (20000, 300), (200, 30, 30)).save(wide)
    square = read_square(wide, 224)
    assert square.shape == (224, 224, 3) and tuple(square[100, 100]) == (200, 30, 30)
    summary_files = photo_files(tmp_path)
    assert summary_files == [wide]
    assert json.dumps([str(p) for p in summary_files])


def test_receptive_fields_of_a_network_whose_fields_are_known():
    """conv 3x3 stride 2 (pad 1), then conv 3x3 (pad 1), then conv 5x5 stride 2 (pad 2): fields of
    3, 7 and 7 + 4*2 = 15 pixels, strides 2, 2 and 4, centred on stride * position."""
    from convscope.models import wrap
    from convscope.models.receptive import receptive_field

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=2, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(4, 4, 5, stride=2, padding=2))
    model = wrap(net, input_size=64)
    for layer, size, stride in (("0", 3, 2), ("2", 7, 2), ("4", 15, 4)):
        rf = receptive_field(model, layer)
        assert rf.size == (size, size) and rf.stride == (stride, stride), (layer, rf)
        assert rf.offset == (0.0, 0.0)  # position y sees pixels centred on stride * y
        top, left, bottom, right = rf.box(5, 6)
        assert (top + bottom - 1) / 2 == stride * 5 and (left + right - 1) / 2 == stride * 6
        assert rf.box(0, 0)[:2] == (0, 0) and rf.box(0, 0)[2] == size  # moved inside at the edge


def test_the_atlas_shows_dataset_examples(model, photo_folder, tmp_path):

    convscope.exemplars(model, photo_folder, tmp_path / "ex", ["block3", "logits"], top=9, batch=16, workers=0)
    convscope.atlas(model, tmp_path / "atlas", recipe=convscope.get_recipe("lucid", steps=2, size=64),
                    layers=["block3"], batch=40, exemplars=tmp_path / "ex")
    record = json.loads((tmp_path / "atlas" / "units" / "block3" / "0007.json").read_text())
    examples = record["exemplars"]
    assert examples["dataset_photos"] == 62 and len(examples["photos"]) == 9
    assert examples["photos"][0]["peak"] >= examples["photos"][-1]["peak"]
    with Image.open(tmp_path / "atlas" / "units" / "block3" / "0007.exemplars.png") as sheet:
        assert sheet.size == (3 * 96 + 2 * 5,) * 2
    page = (tmp_path / "atlas" / "units" / "block3" / "0007.html").read_text()
    assert "0007.exemplars.png" in page and examples["photos"][0]["file"] in page
