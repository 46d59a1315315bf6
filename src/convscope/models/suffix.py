"""The rest of a network from one layer on: the class scores when a layer's output is replaced
by given maps (a forward hook returns them in place of what the layer computed), and the images
any such forward pass can run on.

The part of the network before the layer still runs. When the layer's output alone decides the
rest (no skip connection past it, no class token), that part runs on a small gray image, which
makes a batch of replacements cheap; whether that holds is checked once per layer by comparing
with the real images, and the real images are used when it does not."""
from __future__ import annotations

from weakref import WeakKeyDictionary

import torch

from convscope.models.base import VisionModel
from convscope.models.probe import Probe

_SHORTCUT_OK: "WeakKeyDictionary[torch.nn.Module, dict[str, bool]]" = WeakKeyDictionary()  # by network
TOLERANCE = 1e-3


def logits_from_layer(model: VisionModel, layer: str, maps: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """The class scores (B, classes) of the network when ``layer`` outputs ``maps``.

    Args:
        model: the network (it must have a ``logits`` layer).
        layer: the layer replaced.
        maps: (B, C, H, W) canonical maps, as the network uses them (after the activation
            function convscope reads the layer before, which the network then applies again).
        images: (B, 3, S, S) or (1, 3, S, S) in [0, 1]: the images the maps are of (only
            their size matters where the shortcut holds).
    Returns:
        float32 logits.
    """
    return _replaced(model, model.layer(layer).name, maps, stand_in_images(model, layer, images, len(maps)))


def stand_in_images(model: VisionModel, layer: str, images: torch.Tensor, count: int) -> torch.Tensor:
    """What to feed the network when ``layer``'s output is replaced for ``count`` images: small
    gray images where that output alone decides the rest (checked once per layer, on the first
    of ``images``), else ``images`` (the same image for all when one is given).

    Args:
        model: the network.
        layer: the layer whose output is replaced.
        images: (count, 3, S, S) or (1, 3, S, S) in [0, 1].
        count: the batch.
    Returns:
        (count, 3, s, s) images on the model's device.
    """
    info = model.layer(layer)
    known = _SHORTCUT_OK.setdefault(model.net, {})
    if info.name not in known:
        known[info.name] = _shortcut_holds(model, info.name, images[:1])
    if known[info.name]:
        return torch.full((count, 3, model.min_size, model.min_size), 0.5, device=model.device)
    return images.expand(count, -1, -1, -1) if len(images) == 1 else images


def _replaced(model: VisionModel, layer: str, maps: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    info = model.layer(layer)

    def hook(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor:
        return info.layout.from_maps(maps.to(output.dtype), output)

    handle = info.module.register_forward_hook(hook)
    try:
        with torch.no_grad():
            return model.logits(images)
    finally:
        handle.remove()


def _shortcut_holds(model: VisionModel, layer: str, image: torch.Tensor) -> bool:
    """Whether the layer's output alone decides the logits (checked on ``image``)."""
    info = model.layer(layer)
    if info.layout.kind == "tokens" and info.layout.extra:
        return False
    with torch.no_grad(), Probe(model, [info.name]) as probe:
        maps = info.as_used(probe(image)[info.name])
    real = model.logits(image)
    try:
        shortcut = _replaced(model, info.name, maps, torch.full((1, 3, model.min_size, model.min_size), 0.5,
                                                                  device=model.device))
    except RuntimeError:
        return False
    return shortcut.shape == real.shape and bool((shortcut - real).abs().max() <= TOLERANCE * real.abs().max().clamp_min(1))
