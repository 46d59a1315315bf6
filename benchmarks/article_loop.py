"""The article's loop, written plainly: one filter at a time, each step a forward pass
through the whole network, as the 2016 script runs it. The baseline for `grid`."""
from __future__ import annotations

import torch

from convscope.models.base import VisionModel


def article_filter(model: VisionModel, layer: str, unit: int, seed: int, size: int = 128,
                   steps: int = 20) -> float:
    """Optimizes one filter from the article's gray noise; returns its final mean activation."""
    module = model.layer(layer).module
    captured: dict[str, torch.Tensor] = {}
    handle = module.register_forward_hook(lambda _m, _i, out: captured.__setitem__("a", out))
    try:
        gen = torch.Generator().manual_seed(seed + unit)
        pixels = (torch.rand((3, size, size), generator=gen) * 20 + 128)[None]
        for _ in range(steps):
            pixels.requires_grad_(True)
            model.net(model.preprocess(pixels / 255.0))  # the whole network, every step
            loss = captured["a"][:, unit].mean()
            (grad,) = torch.autograd.grad(loss, pixels)
            grad = grad / (grad.pow(2).mean().sqrt() + 1e-5)
            pixels = (pixels + grad).detach()
        with torch.no_grad():
            model.net(model.preprocess(pixels / 255.0))
            return float(captured["a"][:, unit].mean())
    finally:
        handle.remove()
