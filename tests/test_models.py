"""The real networks: weights, preprocessing, layer table, strict loading."""
from __future__ import annotations

import pytest
import torch

import convscope
from convscope.errors import UnknownNameError, WeightsError
from convscope.io.builtin_photos import builtin_photo
from convscope.methods.classify import classify
from convscope.models import efficientnet_lite

pytestmark = pytest.mark.fast  # `make check` runs this file


CAT_CLASSES = set(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO = 967


def test_chelsea_is_a_cat(model):
    top = classify(model, builtin_photo("chelsea").pixels, 3)
    assert top[0].index in CAT_CLASSES
    assert sum(p.probability for p in top if p.index in CAT_CLASSES) > 0.6


def test_coffee_is_espresso(model):
    top = classify(model, builtin_photo("coffee").pixels, 1)
    assert top[0].index == ESPRESSO and top[0].probability > 0.5


def test_lite2_loads_and_sees_a_cat():
    lite2 = convscope.load("efficientnet-lite2")
    assert lite2.input_size == 260 and len([n for n in lite2.layers if n.startswith("block")]) == 21
    assert classify(lite2, builtin_photo("chelsea").pixels, 1)[0].index in CAT_CLASSES


def test_layer_table(model):
    names = list(model.layers)
    assert names[0] == "stem" and names[-2:] == ["head", "logits"]
    assert names[1:-2] == [f"block{i}" for i in range(16)]
    assert model.layer("block8").channels == 112 and model.layer("block8").shape == (112, 14, 14)
    assert model.layer("logits").channels == 1000
    assert model.labels[65] == "sea snake" and model.labels[18] == "magpie"


def test_unknown_layer_suggests_close_names(model):
    with pytest.raises(UnknownNameError, match="block8"):
        model.layer("blok8")


def test_unknown_model_suggests():
    with pytest.raises(UnknownNameError, match="efficientnet-lite0"):
        convscope.load("efficientnet-lite")


def test_wrong_weights_file_names_the_differences(tmp_path):
    sd = torch.load(efficientnet_lite.weights_file("efficientnet-lite0"), weights_only=True)
    sd["_fc.weight"] = sd["_fc.weight"][:10]
    sd["_fc.bias"] = sd["_fc.bias"][:10]
    del sd["_bn1.running_mean"]
    path = tmp_path / "broken.pth"
    torch.save(sd, path)
    with pytest.raises(WeightsError) as err:
        convscope.load("efficientnet-lite0", weights=path)
    assert "_bn1.running_mean" in str(err.value)


def test_corrupt_weights_file(tmp_path):
    path = tmp_path / "cut.pth"
    data = efficientnet_lite.weights_file("efficientnet-lite0").read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(WeightsError, match="truncated or corrupt"):
        convscope.load("efficientnet-lite0", weights=path)


def test_folding_batch_norm_keeps_the_function():
    path = efficientnet_lite.weights_file("efficientnet-lite0")
    sd = torch.load(path, weights_only=True)
    net = efficientnet_lite.EfficientNetLite(efficientnet_lite.architecture_from_state_dict(sd), 32, 1280, 1000)
    net.load_state_dict(sd)
    net.eval()
    x = torch.rand(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = net(x)
        efficientnet_lite.fold_batch_norms(net)
        after = net(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("groups", [1, 4])
@pytest.mark.parametrize("kernel, stride, height, width",
                         [(3, 1, 14, 14), (5, 1, 9, 9), (3, 2, 16, 16), (5, 2, 15, 15), (1, 1, 7, 7),
                          (3, 2, 16, 15), (5, 2, 14, 17)])
def test_same_padding_matches_tensorflow(kernel, stride, height, width, groups):
    """TF "SAME": output ceil(size / stride), the odd pixel of padding at the bottom and right;
    the symmetric case padded by the convolution itself, and the grouped one's longer kernel,
    give the same numbers and the same input gradients."""
    conv = efficientnet_lite.SameConv2d(4, 8, kernel, stride, groups=groups, bias=False)
    x = torch.randn(2, 4, height, width, generator=torch.Generator().manual_seed(0), requires_grad=True)
    pads = []
    for size in (width, height):
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    expected = torch.nn.functional.conv2d(torch.nn.functional.pad(x, pads), conv.weight, stride=stride,
                                          groups=groups)
    out = conv(x)
    assert out.shape[-2:] == (-(-height // stride), -(-width // stride))
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-6)
    (expected_grad,) = torch.autograd.grad(expected.square().sum(), x)
    (grad,) = torch.autograd.grad(out.square().sum(), x)
    torch.testing.assert_close(grad, expected_grad, atol=1e-5, rtol=1e-5)
