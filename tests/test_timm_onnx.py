"""timm models by name and ONNX files, for real (random weights and files the tests write).

timm and onnx2torch import torchvision, so ``make test`` runs this file in its own environment
(.venv-extras) where they are installed; elsewhere it is skipped."""
from __future__ import annotations

import json
import time

import pytest
import torch

timm = pytest.importorskip("timm", reason="timm is an optional extra: `make test` runs this file in .venv-extras")
onnx = pytest.importorskip("onnx", reason="onnx is an optional extra: `make test` runs this file in .venv-extras")
pytest.importorskip("onnx2torch", reason="onnx2torch is an optional extra")

import convscope  # noqa: E402
from convscope.cli import main  # noqa: E402
from convscope.errors import WeightsError  # noqa: E402

FAMILIES = {  # the smallest of each family, and two main layers for a small atlas
    "vit_tiny_patch16_224": ("blocks.5", ["patch_embed.proj", "blocks.0"]),
    "resnet18": ("layer3.0", ["conv1", "layer1.0"]),
    "convnext_atto": ("stages.2", ["stem.0", "stages.0"]),
    "efficientnet_b0": ("blocks.4", ["conv_stem", "blocks.0"]),
}


def write_weights(name: str, folder, suffix: str = ".safetensors"):
    torch.manual_seed(0)
    net = timm.create_model(name, pretrained=False).eval()
    path = folder / f"{name}{suffix}"
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    return net, path


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_timm_models_load_by_name_and_work_with_every_command(name, tmp_path, capsys):
    net, path = write_weights(name, tmp_path)
    model = convscope.load(f"timm:{name}", weights=path)
    x = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        mean = torch.tensor(net.pretrained_cfg["mean"]).view(1, 3, 1, 1)
        std = torch.tensor(net.pretrained_cfg["std"]).view(1, 3, 1, 1)
        assert torch.allclose(model.logits(x), net((x - mean) / std), atol=1e-4)
    assert model.labels is not None and model.class_name(282) == "tiger cat" and model.input_size == 224
    middle, atlas_layers = FAMILIES[name]
    assert middle in model.main_layers and all(l in model.main_layers for l in atlas_layers)
    spec = [f"timm:{name}", "--weights", str(path)]
    assert main(["layers", *spec, "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[middle]["main"]
    assert main(["filter", *spec, middle, "3", "-o", str(tmp_path / "f.png"), "--steps", "2", "--size", "224"]) == 0
    capsys.readouterr()
    assert main(["atlas", *spec, "--out", str(tmp_path / "atlas"), "--layers", ",".join(atlas_layers),
                 "--steps", "1", "--size", "64", "--batch", "256", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["layers"] == atlas_layers and (tmp_path / "atlas" / "index.html").is_file()


def test_a_vit_token_layer_has_its_features(tmp_path):
    _net, path = write_weights("vit_tiny_patch16_224", tmp_path)
    model = convscope.load("timm:vit_tiny_patch16_224", weights=path)
    block = model.layer("blocks.5")
    assert block.layout.kind == "tokens" and block.layout.extra == 1 and block.channels == 192
    assert block.shape == (192, 14, 14)
    with pytest.raises(convscope.errors.OutOfRangeError, match="192 features"):
        model.check_channel("blocks.5", 196)


def test_timm_weights_from_a_pth_and_a_file_with_a_wrong_key(tmp_path):
    net, path = write_weights("resnet18", tmp_path, ".pth")
    model = convscope.load("timm:resnet18", weights=path)
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(model.net(x), net(x), atol=1e-5)
    state = torch.load(path, weights_only=True)
    state["fc.weight"] = state["fc.weight"][:10]
    del state["layer1.0.conv1.weight"]
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match="layer1.0.conv1.weight") as error:
        convscope.load("timm:resnet18", weights=tmp_path / "bad.pth")
    assert "fc.weight" in str(error.value)


def test_offline_without_weights_fails_at_once_with_the_file_to_get(monkeypatch, capsys, tmp_path):
    from convscope.models import timm_models

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(timm_models, "HUB_HOST", ("convscope-offline.invalid", 443))
    start = time.perf_counter()
    assert main(["layers", "timm:resnet18"]) == 2
    err = capsys.readouterr().err
    assert time.perf_counter() - start < 30
    assert "huggingface.co/timm/resnet18" in err and "--weights FILE" in err and len(err.strip().splitlines()) == 1


def test_an_unknown_timm_name_gets_suggestions(capsys):
    assert main(["layers", "timm:resnet17"]) == 2
    assert "resnet18" in capsys.readouterr().err


def small_cnn() -> torch.nn.Module:
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.Conv2d(8, 16, 3, stride=2, padding=1), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 10)).eval()


def test_an_onnx_file_gives_the_module_s_logits_and_renders(tmp_path, capsys):
    net = small_cnn()
    path = tmp_path / "net.onnx"
    torch.onnx.export(net, torch.rand(1, 3, 64, 64), str(path), dynamo=False, input_names=["image"],
                      dynamic_axes={"image": {0: "batch"}})
    model = convscope.load(str(path), preprocess="none")
    assert model.input_size == 64
    x = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model.logits(x), net(x), atol=1e-5)
    convs = [name for name in model.main_layers if name.endswith("Conv")]
    assert len(convs) == 2
    assert main(["filter", str(path), convs[1], "5", "-o", str(tmp_path / "f.png"), "--steps", "3",
                 "--size", "64", "--preprocess", "imagenet", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["activation"] > data["start"]


def test_onnx_preprocess_presets():
    from convscope.models.onnx_models import parse_preprocess

    x = torch.rand(1, 3, 4, 4)
    assert torch.allclose(parse_preprocess("tf")(x), x * 2 - 1, atol=1e-6)
    assert torch.allclose(parse_preprocess("caffe-bgr")(x)[:, 0], x[:, 2] * 255 - 103.939, atol=1e-4)
    assert torch.allclose(parse_preprocess("mean=0.5,0.5,0.5;std=0.5,0.5,0.5")(x), x * 2 - 1, atol=1e-6)
    with pytest.raises(convscope.errors.OutOfRangeError, match="imagenet, caffe-bgr, tf, none"):
        parse_preprocess("bgr")


def test_an_operator_onnx2torch_cannot_convert_is_named(tmp_path, capsys):
    from onnx import TensorProto, helper

    node = helper.make_node("Unique", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = tmp_path / "odd.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    assert main(["layers", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Unique" in err and "onnx2torch cannot convert" in err
