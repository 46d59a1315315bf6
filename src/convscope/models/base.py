"""VisionModel: a network together with everything needed to look inside it."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from convscope.errors import OutOfRangeError, unknown
from convscope.io.picture import fit_square, to_tensor
from convscope.models.layouts import Layout, as_layout, detect_layout
from convscope.runtime import precision as arithmetic

Preprocess = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Activation:
    """An activation function a network applies after a layer that convscope reads before it."""

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
LOGITS = "logits"
EXTRA = "#extra"  # suffix of a pseudo-layer: a token layer's class and register tokens, (B, C, E)
SHOW_LAYERS = 30  # layers named in an unknown-layer message
INPUT = "input"  # the image the network sees (after transforms, before preprocessing): for image penalties


@dataclass(frozen=True)
class Layer:
    """A layer a user can target: its module, its layout, and what it outputs at the default
    size in canonical form: ``channels`` features, ``shape`` (C, H, W) or (C,)."""

    name: str
    module: nn.Module
    kind: str
    channels: int
    shape: tuple[int, ...]
    order: int
    after: "Activation | None" = None  # the function the network applies right after this layer, if read before it
    layout: Layout = Layout("maps")

    @property
    def spatial(self) -> bool:
        """Whether the output has height and width (a conv map, not a vector)."""
        return len(self.shape) == 3

    def as_used(self, output: torch.Tensor) -> torch.Tensor:
        """The layer's canonical output as the network uses it: after the activation function
        that follows the layer, where convscope reads it before one."""
        return self.after.fn(output) if self.after is not None else output


@dataclass
class VisionModel:
    """A network in eval mode, its preprocessing, its input size, labels and layers.

    ``preprocess`` maps RGB images in [0, 1] (N, 3, H, W) to what ``net`` expects,
    so callers never deal with a model's own colour order or normalization.
    ``precision`` is one of ``convscope.runtime.precision.PRECISIONS`` (``auto``: TF32 on CUDA,
    float32 on the CPU).
    """

    name: str
    net: nn.Module
    preprocess: Preprocess
    input_size: int
    labels: Sequence[str] | None
    layer_modules: dict[str, tuple[nn.Module, str]]
    description: str = ""
    min_size: int = 32
    fixed_size_layers: frozenset[str] = frozenset()
    aliases: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    precision: str = "auto"
    activations: dict[str, Activation] = field(default_factory=dict)  # layer -> what follows it
    main_layer_names: tuple[str, ...] | None = None  # the layers an atlas takes by default (None: all)
    layouts: dict[str, "Layout | str"] = field(default_factory=dict)  # declared layouts (else detected)
    first_conv: str | None = None  # the layer read right after the convolution on the image
    first_conv_module: nn.Module | None = None  # that convolution (found by itself for user networks)
    layers: dict[str, Layer] = field(init=False)

    def __post_init__(self) -> None:
        # channels_last weights run 15-27% faster on oneDNN here (see BENCHMARKS.md)
        self.net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stubs omit it
        self.net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.layers = _trace_layers(self)
        if self.first_conv is None:
            first = next(iter(self.layers.values()), None)
            if first is not None and isinstance(first.module, nn.Conv2d) and first.module.in_channels == 3:
                self.first_conv, self.first_conv_module = first.name, first.module

    def __repr__(self) -> str:
        return (f"VisionModel({self.name!r}, {len(self.layers)} layers, input {self.input_size} px, "
                f"{len(self.labels) if self.labels is not None else 'no'} classes, {self.device}, "
                f"precision {self.precision})")
    @property
    def device(self) -> torch.device:
        for tensor in itertools.chain(self.net.parameters(), self.net.buffers()):
            return tensor.device
        return torch.device("cpu")  # a network without weights

    def to(self, device: torch.device | str) -> "VisionModel":
        """Moves the network to ``device``; returns self."""
        self.net.to(device)
        return self

    def set_precision(self, name: str) -> "VisionModel":
        """Runs the network in precision ``name`` from now on (checked for this device); returns self."""
        arithmetic.resolve(name, self.device)
        self.precision = name
        return self

    @property
    def effective_precision(self) -> str:
        """The precision the network runs in on its device (``auto`` resolved)."""
        return arithmetic.resolve(self.precision, self.device)

    def autocast(self):
        """The context for a forward pass in this model's precision."""
        return arithmetic.autocast(self.precision, self.device)

    def math_mode(self):
        """The context for a whole step (forward and backward) in this model's precision."""
        return arithmetic.math_mode(self.precision, self.device)

    def is_first_conv(self, layer: str) -> bool:
        """Whether ``layer`` (or its alias) is read right after the convolution on the image."""
        return self.first_conv is not None and self.layer(layer).name == self.first_conv

    @property
    def main_layers(self) -> list[str]:
        """The layers worth looking at by default (for a user's network: convolutions, blocks
        and logits, not every activation or pooling module)."""
        if self.main_layer_names is None:
            return list(self.layers)
        return [name for name in self.layers if name in self.main_layer_names]

    @property
    def last_conv_layer(self) -> str | None:
        """The deepest spatial main layer that is not a pooling layer: the last maps before the
        classifier (efficientnet-lite's head, VGG's conv5_3, a ViT's last block)."""
        main = set(self.main_layers)
        spatial = [layer for layer in self.layers.values()
                   if layer.spatial and layer.name != LOGITS and layer.name in main and "pool" not in layer.kind.lower()]
        return spatial[-1].name if spatial else None

    def earlier_main_layers(self, layer: str) -> list[str]:
        """The main layers that come before ``layer`` in the network (in order)."""
        name = self.layer(layer).name
        order = list(self.layers)
        return [n for n in self.main_layers if order.index(n) < order.index(name)]

    def layer(self, name: str) -> Layer:
        """The layer called ``name`` (or one of its aliases); suggests close names and lists
        the layers."""
        name = self.aliases.get(name, name)
        if name not in self.layers:
            error = unknown("layer", name, list(self.layers) + list(self.aliases))
            shown = self.main_layers
            listing = ", ".join(shown[:SHOW_LAYERS]) + (f", ... ({len(shown)} in all)" if len(shown) > SHOW_LAYERS else "")
            raise type(error)(f"{error}; {self.name} has the layers {listing} (see convscope layers)")
        return self.layers[name]

    def check_channel(self, layer: str, channel: int) -> None:
        """Raises a clear error when ``channel`` is not a unit of ``layer``."""
        info = self.layer(layer)
        if not 0 <= channel < info.channels:
            what = "features" if info.layout.kind == "tokens" else "channels"
            raise OutOfRangeError(
                f"channel {channel} is out of range for layer {info.name!r}, "
                f"which has {info.channels} {what} (0..{info.channels - 1})"
            )

    def check_size(self, size: int | tuple[int, int]) -> None:
        """Raises a clear error when images of ``size`` pixels (a side, or (height, width))
        are too small."""
        side = size if isinstance(size, int) else min(size)
        if side < self.min_size:
            raise OutOfRangeError(
                f"size {side} is too small for {self.name}: use at least {self.min_size} px a side"
            )

    def class_name(self, index: int) -> str:
        if self.labels is None:
            return f"class {index}"
        return self.labels[index]

    @property
    def logits_layer(self) -> str | None:
        """The canonical name of the class-score layer, or None when the network has none."""
        name = self.aliases.get(LOGITS, LOGITS)
        return name if name in self.layers else None

    def prepare(self, rgb: np.ndarray, size: int | None = None) -> torch.Tensor:
        """A photo (H, W, 3) uint8 as a (1, 3, S, S) batch on the model's device: its short side
        resized to ``size`` (default: the input size), the centre square cropped.

        Args:
            rgb: the photo's pixels.
            size: the side of the square, in pixels; None for ``input_size``.
        Returns:
            A float tensor in [0, 1], ready for ``logits`` or a probe.
        """
        return fit_square(to_tensor(rgb), size or self.input_size)[None].to(self.device)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Class scores for RGB images in [0, 1], in float32."""
        with self.autocast():
            return self.net(self.preprocess(images)).float()


def _layout_of(declared: "Layout | str | None", raw: tuple[int, ...]) -> Layout:
    """The declared layout (its token grid filled in from the output) or the detected one."""
    if declared is None:
        return detect_layout(raw)
    layout = as_layout(declared)
    if layout.kind == "tokens" and layout.grid is None:
        return Layout("tokens", layout.patch_grid(raw[0] - layout.extra), layout.extra)
    return layout


def _trace_layers(model: VisionModel) -> dict[str, Layer]:
    """Runs one forward pass at the default size to learn each layer's shape and order."""
    seen: dict[str, tuple[int, tuple[int, ...]]] = {}  # name -> (call order, raw output shape without batch)
    handles = []

    def recorder(name: str):
        def hook(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
            if name not in seen and isinstance(output, torch.Tensor):
                seen[name] = (len(seen), tuple(output.shape[1:]))

        return hook

    for name, (module, _kind) in model.layer_modules.items():
        handles.append(module.register_forward_hook(recorder(name)))
    try:
        size = model.input_size
        with torch.no_grad():
            x = torch.full((1, 3, size, size), 0.5, device=model.device)
            model.net(model.preprocess(x))
    finally:
        for h in handles:
            h.remove()
    layers = {}
    for name, (module, kind) in model.layer_modules.items():
        if name not in seen:
            continue  # a module that the forward pass never calls is not a layer
        order, raw = seen[name]
        layout = _layout_of(model.layouts.get(name), raw)
        canonical = tuple(layout.to_maps(torch.zeros(1, *raw)).shape[1:])
        layers[name] = Layer(name, module, kind, canonical[0], canonical, order, model.activations.get(name), layout)
    return dict(sorted(layers.items(), key=lambda item: item[1].order))
