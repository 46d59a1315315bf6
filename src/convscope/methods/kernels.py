"""The first convolution's kernels as pictures: exact, and what the article's first-layer sheet shows.

A first layer is linear in the image, so its channel mean is maximized by a flat colour;
its kernel (in RGB, through the model's own preprocessing) shows orientation and colour.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from convscope.io.picture import Picture
from convscope.models.base import VisionModel


def rgb_kernels(model: VisionModel) -> torch.Tensor:
    """(C, 3, k, k): each output channel's weights on the RGB image in [0, 1] (the gradient of
    the first convolution at one position by the input, so preprocessing and colour order count)."""
    conv = model.first_conv_module
    if not isinstance(conv, torch.nn.Conv2d):
        raise ValueError(f"{model.name} has no first convolution on the image")
    k = max(conv.kernel_size)
    stride = max(conv.stride)
    side = max(3 * k, 2 * stride + k, model.min_size)  # the centre output sees a whole kernel inside the image
    x = torch.full((1, 3, side, side), 0.5, device=model.device, requires_grad=True)
    captured: list[torch.Tensor] = []

    def hook(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> None:
        captured.append(output)
        raise _Stop

    handle = conv.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            try:
                model.net(model.preprocess(x))
            except _Stop:
                pass
    finally:
        handle.remove()
    out = captured[0][0]
    cy, cx = out.shape[-2] // 2, out.shape[-1] // 2
    grads = torch.stack([torch.autograd.grad(out[c, cy, cx], x, retain_graph=True)[0][0]
                         for c in range(out.shape[0])])
    support = grads.abs().sum(dim=(0, 1)) > 0
    ys, xs = support.nonzero(as_tuple=True)
    top, left = int(ys.min()), int(xs.min())
    return grads[:, :, top:top + k, left:left + k].detach().cpu()


class _Stop(Exception):
    """Ends the forward pass once the first convolution has run."""


def kernel_pictures(model: VisionModel, size: int = 128) -> list[Picture]:
    """Each first-layer kernel enlarged to ``size`` px (nearest neighbour): gray is 0, each
    kernel scaled by its own largest weight, so its orientation and colours show."""
    kernels = rgb_kernels(model)
    scale = kernels.abs().flatten(1).amax(dim=1).clamp(min=1e-12).view(-1, 1, 1, 1)
    shown = 0.5 + 0.5 * kernels / scale
    big = F.interpolate(shown, size=(size, size), mode="nearest")
    return [Picture.from_tensor(k, {"kernel": list(kernels.shape[-2:])}) for k in big]
