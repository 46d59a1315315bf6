"""InceptionV1 in Lucent's key layout: a file of random weights written here, checked against an
independent forward pass written from the published architecture."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

import convscope
from convscope.cli import main
from convscope.errors import WeightsError

pytestmark = pytest.mark.fast  # `make check` runs this file


BLOCKS = [  # name, input, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection (Szegedy et al. 2014, Lucid)
    ("mixed3a", 192, 64, 96, 128, 16, 32, 32), ("mixed3b", 256, 128, 128, 192, 32, 96, 64),
    ("mixed4a", 480, 192, 96, 204, 16, 48, 64), ("mixed4b", 508, 160, 112, 224, 24, 64, 64),
    ("mixed4c", 512, 128, 128, 256, 24, 64, 64), ("mixed4d", 512, 112, 144, 288, 32, 64, 64),
    ("mixed4e", 528, 256, 160, 320, 32, 128, 128), ("mixed5a", 832, 256, 160, 320, 48, 128, 128),
    ("mixed5b", 832, 384, 192, 384, 48, 128, 128),
]


def lucent_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    sd = {}

    def conv(name, c_in, c_out, k):
        sd[f"{name}_pre_relu_conv.weight"] = torch.randn(c_out, c_in, k, k, generator=gen) * (2 / (c_in * k * k)) ** 0.5
        sd[f"{name}_pre_relu_conv.bias"] = torch.randn(c_out, generator=gen) * 0.1

    conv("conv2d0", 3, 64, 7)
    conv("conv2d1", 64, 64, 1)
    conv("conv2d2", 64, 192, 3)
    for name, c_in, c1, r3, c3, r5, c5, cp in BLOCKS:
        conv(f"{name}_1x1", c_in, c1, 1)
        conv(f"{name}_3x3_bottleneck", c_in, r3, 1)
        conv(f"{name}_5x5_bottleneck", c_in, r5, 1)
        conv(f"{name}_pool_reduce", c_in, cp, 1)
        conv(f"{name}_3x3", r3, c3, 3)
        conv(f"{name}_5x5", r5, c5, 5)
    sd["softmax2_pre_activation_matmul.weight"] = torch.randn(1008, 1024, generator=gen) * 0.03
    sd["softmax2_pre_activation_matmul.bias"] = torch.zeros(1008)
    return sd


def reference(sd, x):
    """The forward pass at 224 px, padding spelled out as the TensorFlow graph has it."""
    def conv(name, t, pad):
        return F.conv2d(F.pad(t, pad), sd[f"{name}_pre_relu_conv.weight"], sd[f"{name}_pre_relu_conv.bias"],
                        stride=2 if name == "conv2d0" else 1)

    def pool(t, stride):
        pad = (0, 1, 0, 1) if stride == 2 else (1, 1, 1, 1)
        return F.max_pool2d(F.pad(t, pad, value=float("-inf")), 3, stride)

    def lrn(t):
        return F.local_response_norm(t, 9, alpha=9.99999974738e-05, beta=0.5, k=1)

    t = x * 255 - 117
    t = lrn(pool(F.relu(conv("conv2d0", t, (2, 3, 2, 3))), 2))
    t = F.relu(conv("conv2d1", t, (0, 0, 0, 0)))
    t = pool(lrn(F.relu(conv("conv2d2", t, (1, 1, 1, 1)))), 2)
    acts = {}
    for name, *_ in BLOCKS:
        b1 = F.relu(conv(f"{name}_1x1", t, (0, 0, 0, 0)))
        b3 = F.relu(conv(f"{name}_3x3", F.relu(conv(f"{name}_3x3_bottleneck", t, (0, 0, 0, 0))), (1, 1, 1, 1)))
        b5 = F.relu(conv(f"{name}_5x5", F.relu(conv(f"{name}_5x5_bottleneck", t, (0, 0, 0, 0))), (2, 2, 2, 2)))
        bp = F.relu(conv(f"{name}_pool_reduce", pool(t, 1), (0, 0, 0, 0)))
        t = torch.cat([b1, b3, b5, bp], dim=1)
        acts[name] = t
        if name in ("mixed3b", "mixed4e"):
            t = pool(t, 2)
    logits = F.linear(F.avg_pool2d(t, 7).flatten(1), sd["softmax2_pre_activation_matmul.weight"],
                      sd["softmax2_pre_activation_matmul.bias"])
    return logits, acts


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("inception") / "inception5h.pth"
    torch.save(lucent_state_dict(), path)
    return path


def test_the_file_loads_and_matches_an_independent_forward(weights):
    model = convscope.load("inceptionv1", weights=weights)
    x = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    logits, acts = reference(torch.load(weights, weights_only=True), x)
    with torch.no_grad():  # random weights give logits in the hundreds: float32 rounding only, on their scale
        assert (model.logits(x) - logits).abs().max() < 1e-5 * logits.abs().max()
    from convscope.models.probe import Probe

    with torch.no_grad(), Probe(model, ["mixed4a", "mixed5b"]) as probe:
        got = probe(x)
    scale = acts["mixed4a"].abs().max()
    assert (got["mixed4a"] - acts["mixed4a"]).abs().max() < 1e-5 * scale  # float32 rounding only
    assert model.layer("mixed4a").channels == 508 and model.layer("mixed4a").shape == (508, 14, 14)
    assert model.layer("logits").channels == 1008 and model.layer("mixed4a_pre_relu").channels == 508
    assert model.layer("conv2d0_pre_relu").shape == (64, 112, 112)


def test_canonical_examples_render(weights, tmp_path, capsys):
    code = main(["filter", "inceptionv1", "mixed4a", "476", "--weights", str(weights), "-o", str(tmp_path / "a.png"),
                 "--steps", "2", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["layer"] == "mixed4a"
    code = main(["render", "mixed4a_pre_relu:476 + mixed4b:360", "--model", "inceptionv1", "--weights", str(weights),
                 "-o", str(tmp_path / "b.png"), "--steps", "2"])
    assert code == 0, capsys.readouterr().err


def test_labels_beside_the_weights_and_errors(tmp_path, capsys):
    path = tmp_path / "inception5h.safetensors"
    from safetensors.torch import save_file

    save_file(lucent_state_dict(1), str(path))
    (tmp_path / "imagenet_comp_graph_label_strings.txt").write_text(
        "\n".join(["dummy"] + [f"class name {i}" for i in range(1, 1008)]) + "\n")
    model = convscope.load("inceptionv1", weights=path)
    assert model.class_name(5) == "class name 5"
    assert main(["layers", "inceptionv1"]) == 0 and "mixed4a" in capsys.readouterr().out
    with pytest.raises(WeightsError, match="inception5h.pth"):
        convscope.load("inceptionv1")
    sd = lucent_state_dict()
    del sd["mixed4a_3x3_pre_relu_conv.weight"]
    torch.save(sd, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match="mixed4a_3x3_pre_relu_conv.weight"):
        convscope.load("inceptionv1", weights=tmp_path / "bad.pth")
