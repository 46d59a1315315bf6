"""Token and channels-last layers: channel n is feature n everywhere."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import convscope
from convscope import models
from convscope.cli import main
from convscope.models.layouts import Layout, detect_layout
from convscope.models.probe import Probe
from token_nets import FEATURES, ChannelsLast, PatchTransformer

pytestmark = pytest.mark.fast  # `make check` runs this file


NETS = str(Path(__file__).parent / "token_nets.py") + ":build"


@pytest.fixture(scope="module")
def vit():
    torch.manual_seed(0)
    return models.wrap(PatchTransformer(extra_tokens=1), input_size=224)


def test_layouts_are_found_from_the_outputs():
    assert detect_layout((196, 32)) == Layout("tokens", (14, 14), 0)
    assert detect_layout((197, 768)) == Layout("tokens", (14, 14), 1)
    assert detect_layout((201, 384)) == Layout("tokens", (14, 14), 5)  # class + 4 registers
    assert detect_layout((7, 7, 768)).kind == "channels_last"
    assert detect_layout((64, 56, 56)).kind == "maps" and detect_layout((1000,)).kind == "vector"


def test_a_token_layer_has_its_features_as_channels(vit):
    layer = vit.layer("blocks.1")
    assert layer.layout == Layout("tokens", (14, 14), 1)
    assert layer.channels == FEATURES and layer.shape == (FEATURES, 14, 14)
    with pytest.raises(convscope.errors.OutOfRangeError, match="32 features"):
        vit.check_channel("blocks.1", 40)


def test_channel_and_position_read_feature_n(vit):
    x = torch.rand(2, 3, 224, 224)
    raw = {}
    handle = vit.net.blocks[1].register_forward_hook(lambda m, i, o: raw.setdefault("out", o))
    with torch.no_grad():
        vit.net(x)
    handle.remove()
    tokens = raw["out"]  # (B, 1 + 196, 32)
    with Probe(vit, ["blocks.1", "blocks.1#extra"]) as probe, torch.no_grad():
        acts = probe(x)
    k = 5
    mean = convscope.parse_objective(f"blocks.1:{k}")(acts)
    assert torch.allclose(mean, tokens[:, 1:, k].mean(dim=1), atol=1e-6)
    at = convscope.parse_objective(f"blocks.1:{k}@3,4")(acts)  # x=3, y=4: patch 4 * 14 + 3
    assert torch.allclose(at, tokens[:, 1 + 4 * 14 + 3, k], atol=1e-6)
    every = convscope.parse_objective(f"all_tokens(blocks.1,{k})")(acts)
    assert torch.allclose(every, tokens[:, :, k].mean(dim=1), atol=1e-6)


def test_the_picture_of_a_colour_feature_has_that_colour(vit):
    recipe = convscope.get_recipe("lucid", steps=128, size=224)
    result = convscope.render(vit, ["blocks.1:0", "blocks.1:1", "blocks.1:2"], recipe)
    means = result.images.mean(dim=(2, 3))  # (3 pictures, RGB)
    for k in range(3):
        others = [c for c in range(3) if c != k]
        assert means[k, k] > means[k, others].max() + 0.05, means


def test_channels_last_layers():
    torch.manual_seed(0)
    model = models.wrap(ChannelsLast(), input_size=64)
    stage = model.layer("stage")
    assert stage.layout.kind == "channels_last" and stage.channels == 12 and stage.shape == (12, 8, 8)
    x = torch.rand(1, 3, 64, 64)
    with Probe(model, ["stage"]) as probe, torch.no_grad():
        acts = probe(x)
    assert torch.allclose(acts["stage"], model.net.conv(x), atol=1e-6)


def test_declared_layouts_win():
    torch.manual_seed(0)
    model = models.wrap(ChannelsLast(), input_size=64, layouts={"stage": "maps"})
    assert model.layer("stage").layout.kind == "maps" and model.layer("stage").channels == 8


def test_commands_on_a_token_network(tmp_path, capsys):
    code = main(["layers", NETS, "--json"])
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert code == 0 and rows["blocks.1"]["channels"] == FEATURES and rows["blocks.1"]["layout"] == "tokens"
    assert rows["blocks.1"]["grid"] == [14, 14] and rows["blocks.1"]["main"]
    code = main(["filter", NETS, "blocks.1", "40", "-o", str(tmp_path / "f.png")])
    err = capsys.readouterr().err
    assert code == 2 and "out of range" in err and "32 features" in err
    code = main(["grid", NETS, "blocks.1", "-o", str(tmp_path / "g.png"), "--candidates", "4", "--top", "4",
                 "--steps", "2", "--size", "224"])
    _out, err = capsys.readouterr()
    assert code == 0, err
    code = main(["stats", NETS, "blocks.0", "--units", "0-1", "--steps", "2", "--size", "224", "--json"])
    assert code == 0 and len(json.loads(capsys.readouterr().out)["units"]) == 2
    code = main(["dream", "-o", str(tmp_path / "d.jpg"), "--model", NETS, "--layers", "blocks.1", "--octaves", "1",
                 "--steps", "1"])
    _out, err = capsys.readouterr()
    assert code == 0, err
    code = main(["twins", NETS, "blocks.1", "--summary", "--json"])
    _out, err = capsys.readouterr()
    assert code == 0, err
    code = main(["atlas", NETS, "--out", str(tmp_path / "a"), "--layers", "blocks.1", "--steps", "1",
                 "--size", "224", "--json"])
    out = json.loads(capsys.readouterr().out)
    record = json.loads((tmp_path / "a" / "units" / "blocks.1" / "0003.json").read_text())
    assert code == 0 and out["units"] == FEATURES and record["top_photos"][0]["position"] is not None
