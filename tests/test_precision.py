"""Precision: float32 and bfloat16 autocast on the real network, choices, and what bad input gets."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

import convscope
from convscope import models
from convscope.engine.objectives import channel
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.errors import OutOfRangeError
from convscope.jobs.job_folder import JobFolderError
from convscope.models.probe import Probe
from convscope.runtime import precision
from test_cli import bad, run

pytestmark = pytest.mark.fast  # `make check` runs this file


CPU = torch.device("cpu")


def test_auto_is_float32_on_the_cpu_and_tf32_on_cuda():
    assert precision.resolve("auto", CPU) == "float32"
    assert precision.resolve("auto", torch.device("cuda")) == "tf32"
    assert precision.resolve("bfloat16", CPU) == "bfloat16"


def test_bad_precisions_say_what_to_use():
    with pytest.raises(OutOfRangeError, match="float32 or bfloat16"):
        precision.resolve("tf32", CPU)
    with pytest.raises(OutOfRangeError, match="auto, float32, tf32, bfloat16"):
        models.load(precision="fp16")


def test_bfloat16_runs_the_network_in_bfloat16_and_reports_float32():
    model = models.load(precision="bfloat16")
    images = torch.rand(2, 3, 64, 64)
    captured = []
    handle = model.layer("block4").module.register_forward_hook(lambda _m, _i, out: captured.append(out.dtype))
    try:
        with Probe(model, ["block4"]) as probe:
            acts = probe(images)["block4"]
    finally:
        handle.remove()
    assert captured == [torch.bfloat16] and acts.dtype == torch.float32
    exact = models.load()
    with Probe(exact, ["block4"]) as probe:
        reference = probe(images)["block4"]
    error = (acts - reference).norm() / reference.norm()
    assert 0 < error < 0.05  # rounded, not a different function


def test_bfloat16_pictures_reach_what_float32_pictures_reach(model):
    units = list(range(4))
    rec = get_recipe("keras2016", size=64)
    objectives = [channel("block6", u) for u in units]
    fast = render(models.load(precision="bfloat16"), objectives, rec, seeds=units)
    exact = render(model, objectives, rec, seeds=units)
    with torch.no_grad(), Probe(model, ["block6"]) as probe:  # both judged in float32
        reached = [probe(r.images)["block6"][range(4), units].mean(dim=(1, 2)) for r in (fast, exact)]
    assert torch.allclose(reached[0], reached[1], rtol=0.15)
    assert not torch.equal(fast.images, exact.images)


def test_same_seed_same_pixels_in_bfloat16():
    fast = models.load(precision="bfloat16")
    a, b = (convscope.filter(fast, "block3", 5, size=48, steps=4) for _ in range(2))
    assert a.info["precision"] == "bfloat16" and torch.equal(torch.as_tensor(a.pixels), torch.as_tensor(b.pixels))


def test_cli_precision_option(capsys, tmp_path):
    code, out, _ = run(capsys, "filter", "efficientnet-lite0", "block2", "1", "-o", str(tmp_path / "f.png"),
                       "--size", "48", "--steps", "3", "--precision", "bfloat16", "--json")
    assert code == 0 and json.loads(out)["precision"] == "bfloat16"
    code, out, _ = run(capsys, "saliency", "-o", str(tmp_path / "s.png"), "--samples", "1", "--json")
    assert code == 0 and json.loads(out)["precision"] == "float32"
    bad(capsys, tmp_path, "filter", "efficientnet-lite0", "block2", "1", "-o", "OUT", "--device", "cpu",
        "--precision", "tf32", match="CUDA format")


def test_an_atlas_is_not_resumed_in_another_precision(tmp_path):
    out = tmp_path / "atlas"
    settings = dict(layers=["stem"], recipe=convscope.get_recipe("lucid", steps=2, size=48), batch=16, seed=0)
    convscope.atlas(models.load(), out, **settings)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with pytest.raises(JobFolderError, match="precision"):
        convscope.atlas(models.load(precision="bfloat16"), copy, **settings)
    assert json.loads((out / "atlas-config.json").read_text())["precision"] == "float32"
