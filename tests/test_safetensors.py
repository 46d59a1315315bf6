"""safetensors wherever --weights takes a file: vgg16, efficientnet-lite, and user factories."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

import convscope
from convscope import models
from convscope.errors import WeightsError
from convscope.models.efficientnet_lite import weights_file
from convscope.models.weights import read_torch_file
from vgg_files import write_torchvision


def test_vgg16_from_safetensors_equals_the_pth(tmp_path, vgg16_arrays, vgg16_pth):
    write_torchvision(tmp_path / "vgg16.safetensors", vgg16_arrays)
    a = models.load("vgg16", weights=vgg16_pth)
    b = models.load("vgg16", weights=tmp_path / "vgg16.safetensors")
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(a.logits(x), b.logits(x))
    assert "safetensors" in b.description


def test_efficientnet_from_safetensors_gives_the_same_classes(tmp_path, photo_files):
    sd = read_torch_file(weights_file("efficientnet-lite0"))
    path = tmp_path / "lite0.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    model = convscope.load("efficientnet-lite0", weights=path)
    assert convscope.classify(model, photo_files["coffee"], 1)[0].name == "espresso"


def test_a_safetensors_file_with_a_wrong_key_names_it(tmp_path):
    sd = read_torch_file(weights_file("efficientnet-lite0"))
    sd["_fc.weight"] = sd["_fc.weight"][:, :10].contiguous()
    path = tmp_path / "bad.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    with pytest.raises(WeightsError, match="_fc.weight"):
        convscope.load("efficientnet-lite0", weights=path)
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{junk")
    with pytest.raises(WeightsError, match="not a readable safetensors file"):
        convscope.load("efficientnet-lite0", weights=tmp_path / "junk.safetensors")


def test_user_factories_read_weights_with_the_same_reader(tmp_path):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    save_file(net.state_dict(), str(tmp_path / "net.safetensors"))
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    other.load_state_dict(models.read_weights(tmp_path / "net.safetensors"))
    assert torch.equal(other[0].weight, net[0].weight)
