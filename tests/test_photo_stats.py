"""stats, grid, the atlas and twins read a photo folder through one streaming pass: its
numbers equal a brute-force computation photo by photo, do not depend on the batch size,
and unreadable files are reported, not fatal. On the real efficientnet-lite0."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from convscope.cli import main
from convscope.data.photo_sources import PhotoFolder
from convscope.data.photo_stats import photo_statistics
from convscope.jobs.atlas.builder import layer_context
from convscope.jobs.atlas.measure import class_drive
from convscope.methods.labels.build import build_labels
from convscope.methods.specs import LabelsSpec
from convscope.methods.twins import find_twins
from convscope.models.probe import Probe


@pytest.fixture(scope="module")
def folder_with_a_bad_file(tmp_path_factory, photo_folder):
    root = tmp_path_factory.mktemp("photos-and-a-bad-file") / "photos"
    shutil.copytree(photo_folder, root)
    (root / "sub" / "notes.jpg").write_text("not a photo")
    return root


def test_folder_statistics_equal_a_photo_by_photo_loop(model, folder_with_a_bad_file):
    source = PhotoFolder(folder_with_a_bad_file, workers=0)
    stats = photo_statistics(model, ["block3", "head"], source, top=3, batch=5)
    assert len(source.skipped) == 1 and "notes.jpg" in source.skipped[0]
    means, peaks, peaks_after = [], [], []
    with torch.no_grad(), Probe(model, ["block3", "head"]) as probe:
        for i, name in enumerate(source.names):
            if name.endswith("notes.jpg"):
                continue
            acts = probe(source.image(model, i))
            means.append((i, acts["block3"][0].flatten(1).mean(dim=1)))
            peaks.append((i, acts["block3"][0].flatten(1).amax(dim=1)))
            peaks_after.append((i, model.layer("head").after.fn(acts["head"][0]).flatten(1).amax(dim=1)))
    mean_table = torch.stack([m for _, m in means])
    torch.testing.assert_close(stats["block3"].best(), mean_table.max(dim=0).values, atol=1e-5, rtol=1e-5)
    peak_table = torch.stack([p for _, p in peaks])
    order = peak_table.argsort(dim=0, descending=True, stable=True)[:3].T  # (C, 3)
    photo_ids = torch.tensor([i for i, _ in peaks])
    assert torch.equal(stats["block3"].read.peak_photos, photo_ids[order])
    after_table = torch.stack([p for _, p in peaks_after])
    torch.testing.assert_close(stats["head"].best(peak=True, after=True), after_table.max(dim=0).values)
    assert stats["head"].best(peak=True, after=True).max() <= 6


def test_the_batch_size_does_not_change_twins_or_class_drive(model, photo_folder):
    source = PhotoFolder(photo_folder, workers=0)
    one = find_twins(model, "stem", source, threshold=-1.0, margin=-2.0, batch=32)
    several = find_twins(model, "stem", source, threshold=-1.0, margin=-2.0, batch=5)
    scores = {(p.unit, p.twin): p for p in several.pairs}
    assert len(one.pairs) == len(scores) == 32 * 31 // 2  # every pair, with these bounds
    for a in one.pairs:
        b = scores[(a.unit, a.twin)]
        assert (a.score, a.unrotated) == pytest.approx((b.score, b.unrotated), abs=1e-5), (a, b)
    small = PhotoFolder(photo_folder, workers=0)
    small.files, small.names = small.files[:4], small.names[:4]
    whole = class_drive(model, "head", small)
    by_batches = torch.zeros_like(whole)
    for start in (0, 2):
        part = PhotoFolder(photo_folder, workers=0)
        part.files, part.names = small.files[start:start + 2], small.names[start:start + 2]
        by_batches += class_drive(model, "head", part)
    torch.testing.assert_close(whole, by_batches, atol=1e-4, rtol=1e-4)


def test_stats_and_grid_with_a_folder_report_the_bad_file(model, folder_with_a_bad_file, tmp_path, capsys):
    assert main(["stats", "efficientnet-lite0", "block3", "--units", "0-2", "--steps", "4", "--size", "64",
                 "--photos", str(folder_with_a_bad_file), "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["photos"] == 12 and data["skipped_photos"] == 1 and "notes.jpg" in captured.err
    expected = photo_statistics(model, ["block3"], PhotoFolder(folder_with_a_bad_file, workers=0))["block3"]
    for row in data["units"]:
        assert row["photo_max"] == pytest.approx(float(expected.best()[row["unit"]]), rel=1e-5)
        assert row["best_photo"] == expected.best_photo(row["unit"])
    out = tmp_path / "grid.png"
    assert main(["grid", "efficientnet-lite0", "block3", "-o", str(out), "--candidates", "4", "--top", "4",
                 "--steps", "2", "--size", "64", "--photos", str(folder_with_a_bad_file)]) == 0
    assert "notes.jpg" in capsys.readouterr().err
    for tile in json.loads(out.with_name("grid.png.json").read_text())["tiles"]:
        assert tile["photo_max"] == pytest.approx(float(expected.best()[tile["channel"]]), rel=1e-5)


def test_photos_past_pillows_size_limit(model, tmp_path):
    """A 20,000 x 15,000 JPEG is read at a reduced scale with bounded memory; a PNG that large
    is skipped with a note that says what to do."""
    from PIL import Image

    from convscope.methods.classify import classify

    big = Image.new("RGB", (20000, 15000), (40, 120, 200))
    big.save(tmp_path / "wide.jpg", quality=80)
    big.save(tmp_path / "wide.png")
    del big
    source = PhotoFolder(tmp_path, workers=0)
    stats = photo_statistics(model, ["block3"], source)
    assert source.names == ["wide.jpg", "wide.png"] and len(source.skipped) == 1
    assert "too large to decode whole" in source.skipped[0] and "wide.png" in source.skipped[0]
    assert stats["block3"].best_photo(0) == "wide.jpg"
    assert len(classify(model, tmp_path / "wide.jpg", top=1)) == 1


class CountedFolder(PhotoFolder):
    """A photo folder that counts the batches it decodes."""

    decoded = 0

    def read(self, model, batch, first=0, stop=None):
        for part in super().read(model, batch, first, stop):
            self.decoded += 1
            yield part


def test_an_atlas_layer_reads_its_photos_once_for_every_measure(model, photo_folder):
    source = CountedFolder(photo_folder, workers=0)
    labels = LabelsSpec(min_photos=2, permutations=99)
    read: list[tuple[int, int]] = []
    context = layer_context(model, "head", source, circuits=True, labels=labels,
                            progress=lambda done, total: read.append((done, total)))
    assert source.decoded == 1  # 12 photos: one batch, for the statistics, drive, circuits and labels together
    assert read == [(0, 12), (12, 12)]

    alone = photo_statistics(model, ["head"], PhotoFolder(photo_folder, workers=0), top=3)["head"]
    for kept, expected in ((context.stats.read, alone.read), (context.stats.after, alone.after)):
        assert torch.equal(kept.peak_photos, expected.peak_photos) and torch.equal(kept.mean_values, expected.mean_values)
    circuit_stats = photo_statistics(model, ["head", "block15"], PhotoFolder(photo_folder, workers=0), top=8)
    assert context.circuits is not None
    for name in ("head", "block15"):
        assert torch.equal(context.circuits.stats[name].read.mean_photos, circuit_stats[name].read.mean_photos)
        assert torch.equal(context.circuits.stats[name].read.running_mean, circuit_stats[name].read.running_mean)
    assert context.drive is not None
    torch.testing.assert_close(context.drive, class_drive(model, "head", PhotoFolder(photo_folder, workers=0)))
    expected_labels = build_labels(model, "head", PhotoFolder(photo_folder, workers=0), labels)
    assert context.labels is not None and context.labels.to_json() == expected_labels.to_json()
