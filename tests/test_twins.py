"""Rotated twins: a network built to have them, and the real one."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from convscope import models
from convscope.cli import main
from convscope.errors import OutOfRangeError
from convscope.io.builtin_photos import builtin_photos
from convscope.methods.specs import angle_list
from convscope.methods.twins import find_twins

pytestmark = pytest.mark.fast  # `make check` runs this file


def twin_network() -> models.VisionModel:
    """Filters 1 and 2 are filter 0 turned by 90 and 180 degrees; filter 4 is filter 3 turned
    by 270; filters 3 and 5 are unrelated to the others."""
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 6, 5, padding=2, bias=False)
    with torch.no_grad():
        w = conv.weight
        w[1] = torch.rot90(w[0], 1, dims=(-2, -1))
        w[2] = torch.rot90(w[0], 2, dims=(-2, -1))
        w[4] = torch.rot90(w[3], 3, dims=(-2, -1))
    return models.wrap(nn.Sequential(conv), input_size=64)


@pytest.fixture(scope="module")
def photos():
    return builtin_photos()


def test_constructed_twins_are_found_with_their_angles_and_nothing_else(photos):
    report = find_twins(twin_network(), "0", photos)
    found = {(p.unit, p.twin): p.angle for p in report.pairs}
    assert found == {(0, 1): 90.0, (0, 2): 180.0, (1, 2): 90.0, (3, 4): 270.0}
    assert all(p.score > 0.999 for p in report.pairs)


def test_the_score_is_symmetric(photos):
    """Reversing the order of the units must give the same pairs, each seen from the
    other side: units swapped, the angle turned back, the score unchanged."""
    model = twin_network()
    forward = find_twins(model, "0", photos, threshold=-1.0, margin=-2.0)
    assert len(forward.pairs) == 15  # every unordered pair once
    reversed_conv = nn.Sequential(nn.Conv2d(3, 6, 5, padding=2, bias=False))
    with torch.no_grad():
        reversed_conv[0].weight.copy_(model.net[0].weight.flip(0))
    backward = find_twins(models.wrap(reversed_conv, input_size=64), "0", photos, threshold=-1.0, margin=-2.0)
    seen = {(p.unit, p.twin): (p.angle, p.score) for p in backward.pairs}
    for p in forward.pairs:
        angle, score = seen[(5 - p.twin, 5 - p.unit)]
        assert score == pytest.approx(p.score, abs=1e-5)
        if p.score > 0.99:
            assert angle == (360 - p.angle) % 360 or p.angle == 180 == angle


def test_summary_counts_add_up(photos):
    report = find_twins(twin_network(), "0", photos)
    summary = report.summary()
    assert summary["with_twin"] == 5 and summary["fraction"] == pytest.approx(5 / 6)
    assert summary["by_angle"]["90"]["units"] == 5  # 0-1, 1-2 (90) and 3-4 (270)
    assert summary["by_angle"]["180"]["units"] == 2
    members = {u for p in report.pairs for u in (p.unit, p.twin)}
    assert len(members) == summary["with_twin"]


def test_non_right_angles_work_and_find_the_same_twins(photos):
    report = find_twins(twin_network(), "0", photos, angles=angle_list(angle_step=45))
    assert {(p.unit, p.twin) for p in report.pairs} == {(0, 1), (0, 2), (1, 2), (3, 4)}


def test_angle_validation():
    assert angle_list(angle_step=120) == [120.0, 240.0]
    for bad in ({"angles": [0, 90]}, {"angles": [360]}, {"angle_step": 0}, {"angles": [-90]}):
        with pytest.raises(OutOfRangeError):
            angle_list(**bad)


def test_end_to_end_on_efficientnet(tmp_path, capsys):
    assert main(["twins", "efficientnet-lite0", "--layers", "stem,block1", "--summary", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["layer"] for r in rows] == ["stem", "block1"]
    assert rows[0]["units"] == 32 and rows[0]["with_twin"] > 0
    out = tmp_path / "twins.png"
    assert main(["twins", "efficientnet-lite0", "stem", "-o", str(out), "--top", "2", "--steps", "8"]) == 0
    data = json.loads((tmp_path / "twins.png.json").read_text())
    assert data["pairs_above_threshold"] and data["pairs_above_threshold"][0]["picture_correlation"] is not None
    assert out.exists()


@pytest.mark.parametrize("argv, match", [
    (["twins", "efficientnet-lite0", "blok1"], "'block1'"),
    (["twins", "efficientnet-lite0", "logits"], "no spatial maps"),
    (["twins", "efficientnet-lite0", "stem", "--angles", "90,400"], "between 0 and 360"),
    (["twins", "efficientnet-lite0", "stem", "--angle-step", "0"], "between 0 and 360"),
    (["twins", "efficientnet-lite0", "stem", "--photos", "EMPTY"], "no photos in"),
])
def test_bad_input(tmp_path, capsys, argv, match):
    (tmp_path / "empty").mkdir()
    argv = [a.replace("EMPTY", str(tmp_path / "empty")) for a in argv] + ["-o", str(tmp_path / "t.png")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]


def test_the_sheet_is_labelled_and_the_rotations_report_progress(photos):
    import numpy as np

    from convscope.io.picture import Picture
    from convscope.methods.twins import add_picture_view

    calls = []
    model = twin_network()
    report = find_twins(model, "0", photos, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, len(photos)) and calls[-1] == (len(photos), len(photos))  # in photos
    gray = Picture(np.full((32, 32, 3), 128, dtype=np.uint8))
    add_picture_view(model, report, lambda unit: gray, top=2)
    band = np.asarray(report.sheet)[:14]
    assert band.max() > 200 and report.sheet.size[1] == 2 * (32 + 14) + 5  # a white caption above each pair
