"""InceptionV1 (GoogLeNet) as Lucid and Lucent use it: the network of the Circuits thread and
OpenAI Microscope, with Lucid's layer names (conv2d0 .. mixed3a .. mixed5b, the branch layers,
and the ``_pre_relu`` layers) and the 1008-class head.

The weights come from the file Lucent users have (``inception5h.pth``: keys such as
``mixed4a_3x3_pre_relu_conv.weight``); convscope ships none. Its input is RGB in 0..255 minus
117. Class names come from ``imagenet_comp_graph_label_strings.txt`` beside the weights file
when it is there.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from convscope.errors import WeightsError
from convscope.models.base import VisionModel
from convscope.models.registry import register_model
from convscope.models.weights import load_state_dict_strict, read_weights

# block: (input, 1x1, 3x3 bottleneck, 3x3, 5x5 bottleneck, 5x5, pool reduce)
MIXED = {
    "mixed3a": (192, 64, 96, 128, 16, 32, 32), "mixed3b": (256, 128, 128, 192, 32, 96, 64),
    "mixed4a": (480, 192, 96, 204, 16, 48, 64), "mixed4b": (508, 160, 112, 224, 24, 64, 64),
    "mixed4c": (512, 128, 128, 256, 24, 64, 64), "mixed4d": (512, 112, 144, 288, 32, 64, 64),
    "mixed4e": (528, 256, 160, 320, 32, 128, 128), "mixed5a": (832, 256, 160, 320, 48, 128, 128),
    "mixed5b": (832, 384, 192, 384, 48, 128, 128),
}
POOL_AFTER = {"mixed3b": "maxpool4", "mixed4e": "maxpool10"}  # a stride-2 pool between stages
CLASSES = 1008
LABELS_FILE = "imagenet_comp_graph_label_strings.txt"
INPUT_SIZE = 224


class Concat(nn.Module):
    """Its output is its inputs joined along the channels (a layer to hook)."""

    def forward(self, *parts: torch.Tensor) -> torch.Tensor:
        return torch.cat(parts, dim=1)


class MaxPool(nn.Module):
    """3x3 max pooling with TensorFlow's padding: stride 2 pads right and bottom, stride 1 all round."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = (0, 1, 0, 1) if self.stride == 2 else (1, 1, 1, 1)
        return F.max_pool2d(F.pad(x, pad, value=float("-inf")), 3, self.stride)


def _lrn(x: torch.Tensor) -> torch.Tensor:
    return F.local_response_norm(x, size=9, alpha=9.99999974738e-05, beta=0.5, k=1.0)


class InceptionV1(nn.Module):
    """The network; attribute names are the weight file's keys (``NAME_pre_relu_conv``) and
    Lucid's layer names (``NAME`` after the ReLU, ``mixedX`` the concatenated block)."""

    def __init__(self) -> None:
        super().__init__()
        self._conv("conv2d0", 3, 64, 7, stride=2)
        self.maxpool0 = MaxPool(2)
        self._conv("conv2d1", 64, 64, 1)
        self._conv("conv2d2", 64, 192, 3)
        self.maxpool1 = MaxPool(2)
        for block, (c_in, c1, r3, c3, r5, c5, cp) in MIXED.items():
            for branch, (a, b, k) in {"1x1": (c_in, c1, 1), "3x3_bottleneck": (c_in, r3, 1), "3x3": (r3, c3, 3),
                                      "5x5_bottleneck": (c_in, r5, 1), "5x5": (r5, c5, 5),
                                      "pool_reduce": (c_in, cp, 1)}.items():
                self._conv(f"{block}_{branch}", a, b, k)
            setattr(self, f"{block}_pool", MaxPool(1))
            setattr(self, block, Concat())
            setattr(self, f"{block}_pre_relu", Concat())
            if block in POOL_AFTER:
                setattr(self, POOL_AFTER[block], MaxPool(2))
        self.softmax2_pre_activation_matmul = nn.Linear(1024, CLASSES)

    def _conv(self, name: str, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        setattr(self, f"{name}_pre_relu_conv", nn.Conv2d(c_in, c_out, kernel, stride))
        setattr(self, name, nn.ReLU())

    def _unit(self, name: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A convolution with TensorFlow "SAME" padding, and its ReLU: (pre-relu, post-relu)."""
        conv = getattr(self, f"{name}_pre_relu_conv")
        k, s = conv.kernel_size[0], conv.stride[0]
        total = max((-(-x.shape[-1] // s) - 1) * s + k - x.shape[-1], 0)
        pre = conv(F.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2)))
        return pre, getattr(self, name)(pre)

    def _mixed(self, block: str, x: torch.Tensor) -> torch.Tensor:
        p1, a1 = self._unit(f"{block}_1x1", x)
        _, b3 = self._unit(f"{block}_3x3_bottleneck", x)
        p3, a3 = self._unit(f"{block}_3x3", b3)
        _, b5 = self._unit(f"{block}_5x5_bottleneck", x)
        p5, a5 = self._unit(f"{block}_5x5", b5)
        pp, ap = self._unit(f"{block}_pool_reduce", getattr(self, f"{block}_pool")(x))
        getattr(self, f"{block}_pre_relu")(p1, p3, p5, pp)
        return getattr(self, block)(a1, a3, a5, ap)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool0(self._unit("conv2d0", x)[1])
        x = self._unit("conv2d1", _lrn(x))[1]
        x = self.maxpool1(_lrn(self._unit("conv2d2", x)[1]))
        for block in MIXED:
            x = self._mixed(block, x)
            if block in POOL_AFTER:
                x = getattr(self, POOL_AFTER[block])(x)
        return self.softmax2_pre_activation_matmul(x.mean(dim=(2, 3)))


def preprocess_inception(x: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] to InceptionV1's input: 0..255 minus 117."""
    return x * 255.0 - 117.0


def read_labels(weights: Path) -> tuple[list[str] | None, str]:
    """The 1008 class names from the labels file beside the weights, and a note."""
    path = weights.parent / LABELS_FILE
    if not path.is_file():
        return None, f"no {LABELS_FILE} beside the weights: classes are shown by number"
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if len(names) != CLASSES:
        raise WeightsError(f"{path} has {len(names)} class names; InceptionV1 has {CLASSES}")
    return names, f"class names: {path}"


def build(weights: str | Path | None) -> VisionModel:
    """InceptionV1 with the weights in ``weights`` (Lucent's inception5h.pth, or the same as safetensors)."""
    if weights is None:
        raise WeightsError("inceptionv1 needs its weights file, which no package ships: pass Lucent's "
                           "inception5h.pth (or a .safetensors copy) with {weights} FILE", options=["weights"])
    path = Path(weights)
    net = InceptionV1()
    load_state_dict_strict(net, read_weights(path), path)
    labels, note = read_labels(path)
    return _model(net, f"InceptionV1 (GoogLeNet, Lucid's layout) from {path.name}", labels, [note])


def architecture() -> VisionModel:
    """InceptionV1 untrained: its layers' names and shapes."""
    return _model(InceptionV1(), "InceptionV1 architecture (untrained: give weights for pictures)", None, [])


def _model(net: InceptionV1, description: str, labels: list[str] | None, notes: list[str]) -> VisionModel:
    """The VisionModel: Lucid's layer names, ``NAME_pre_relu`` for each convolution before its ReLU."""
    modules: dict[str, tuple[nn.Module, str]] = {}
    aliases: dict[str, str] = {}
    for name, module in net.named_children():
        if name.endswith("_pre_relu_conv"):
            modules[name] = (module, "conv")
            aliases[name.removesuffix("_conv")] = name
        elif isinstance(module, nn.ReLU):
            modules[name] = (module, "conv+relu")
        elif isinstance(module, Concat):
            modules[name] = (module, "mixed")
        elif isinstance(module, MaxPool):
            modules[name] = (module, "maxpool")
    modules["logits"] = (net.softmax2_pre_activation_matmul, "linear")
    aliases["softmax2_pre_activation"] = "logits"
    main = ("conv2d0", "conv2d1", "conv2d2", *(n for b in MIXED for n in (f"{b}_pre_relu", b)), "logits")
    return VisionModel(
        name="inceptionv1", net=net, preprocess=preprocess_inception, input_size=INPUT_SIZE, labels=labels,
        layer_modules=modules, description=description, min_size=32, aliases=aliases, notes=notes,
        main_layer_names=main, first_conv="conv2d0_pre_relu_conv", first_conv_module=net.get_submodule("conv2d0_pre_relu_conv"),
    )


@register_model("inceptionv1", "InceptionV1 (GoogLeNet) as in Lucid and Lucent, 224 px (weights: Lucent's "
                "inception5h.pth)", architecture=architecture)
def inceptionv1(weights: str | Path | None, kernel_orientation: str) -> VisionModel:
    return build(weights)
