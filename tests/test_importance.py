"""Importance maps: |d objective / d image| summed over the steps, from the loop's own backward passes."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import convscope
from convscope.cli import main
from convscope.engine.batch import normalize_importance
from convscope.errors import ImageInputError
from convscope.models.probe import Probe

pytestmark = pytest.mark.fast  # `make check` runs this file


def test_one_step_map_is_the_gradient_of_the_start_image(model):
    recipe = convscope.get_recipe("keras2016", steps=1, size=64)
    result = convscope.render(model, ["block5:3"], recipe, seeds=[7])
    start = torch.rand((3, 64, 64), generator=torch.Generator().manual_seed(7)) * 20 + 128
    image = (start / 255.0)[None].requires_grad_(True)
    with Probe(model, ["block5"]) as probe:
        value = convscope.parse_objective("block5:3")(probe(image)).sum()
    (grad,) = torch.autograd.grad(value, image)
    expected = normalize_importance(grad[0].abs().sum(dim=0))
    assert np.allclose(result.pictures[0].importance, expected, atol=1e-4)


def test_a_neuron_looks_at_the_centre_and_a_channel_everywhere(model):
    result = convscope.render(model, ["block8:3", "block8:3@c"], convscope.get_recipe("lucid", steps=24))
    spread, centre = (p.importance_summary() for p in result.pictures)
    assert centre["centre_share"] > 0.45 > spread["centre_share"] > 0.15
    assert centre["border_share"] < spread["border_share"]


def test_rgba_file_carries_the_map_and_jpeg_is_refused(model, tmp_path, capsys):
    out = tmp_path / "f.png"
    code = main(["filter", "efficientnet-lite0", "block8", "3", "-o", str(out), "--steps", "4", "--size", "64",
                 "--alpha", "--importance", "--json"])
    data = json.loads(capsys.readouterr().out)
    rgba = np.asarray(Image.open(out))
    gray = np.asarray(Image.open(tmp_path / "f.importance.png"))
    assert code == 0 and rgba.shape == (64, 64, 4) and data["importance_map"].endswith("f.importance.png")
    assert np.array_equal(rgba[..., 3], gray[..., 0]) and rgba[..., 3].max() == 255
    assert 0 < data["importance"]["centre_share"] < 1
    code = main(["filter", "efficientnet-lite0", "block8", "3", "-o", str(tmp_path / "f.jpg"), "--alpha"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "JPEG has no alpha" in err[0] and not (tmp_path / "f.jpg").exists()


def test_a_photo_has_no_importance_map(tmp_path):
    picture = convscope.Picture(np.zeros((4, 4, 3), dtype=np.uint8))
    with pytest.raises(ImageInputError, match="no importance map"):
        picture.save(tmp_path / "x.png", alpha=True)
