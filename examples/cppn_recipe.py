"""A recipe of your own: a CPPN parameterization (Mordvintsev et al. 2018, "Differentiable
Image Parameterizations"). Each picture is a small network of the pixel's coordinates, so its
patterns are smooth and scale-free; the loop optimizes the network's weights.

    convscope filter efficientnet-lite0 block8 12 --recipe examples/cppn_recipe.py:make_recipe -o cppn.png

or in Python: ``convscope.filter(model, "block8", 12, recipe=make_recipe())``.
"""
from __future__ import annotations

import functools
import math
from typing import Sequence

import torch
from torch import nn

import convscope
from convscope.engine.transforms import lucid_transforms

WIDTH = 24  # features per layer
DEPTH = 8  # hidden layers


def coordinates(h: int, w: int, device: torch.device) -> torch.Tensor:
    """(h * w, 3): each pixel's x and y (unit variance over the picture) and its radius."""
    ys = torch.linspace(-math.sqrt(3), math.sqrt(3), h, device=device)
    xs = torch.linspace(-math.sqrt(3), math.sqrt(3), w, device=device) * (w / h)
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([x, y, torch.sqrt(x * x + y * y)], dim=-1).reshape(-1, 3)


class CPPN(nn.Module):
    """One coordinate network per picture of the batch, run together as batched matrix products.

    Args:
        seeds: one seed per picture; picture i's weights are drawn with ``seeds[i]``.
        hw: (height, width) of the pictures.
        device: where the weights live.
    """

    def __init__(self, seeds: Sequence[int], hw: tuple[int, int], device: torch.device) -> None:
        super().__init__()
        self.hw = hw
        sizes = [3] + [2 * WIDTH] * DEPTH  # each activation doubles the features (see forward)
        outs = [WIDTH] * DEPTH + [3]
        self.weights = nn.ParameterList()
        for fan_in, fan_out in zip(sizes, outs):
            draws = [torch.randn(fan_in, fan_out, generator=torch.Generator().manual_seed(int(s) * 1000 + fan_in))
                     for s in seeds]
            self.weights.append(nn.Parameter((torch.stack(draws) / math.sqrt(fan_in)).to(device)))
        self.register_buffer("coords", coordinates(*hw, device))

    def forward(self) -> torch.Tensor:
        x = self.coords.expand(len(self.weights[0]), -1, -1)
        for weight in self.weights[:-1]:
            a = torch.atan(x @ weight)
            x = torch.cat([a / 0.67, a * a / 0.6], dim=-1)  # the paper's composite activation
        rgb = torch.sigmoid(x @ self.weights[-1])  # (B, h * w, 3)
        return rgb.transpose(1, 2).reshape(-1, 3, *self.hw)


def cppn_image(seeds: Sequence[int], hw: tuple[int, int], device: torch.device,
               init: torch.Tensor | None = None) -> nn.Module:
    """The parameterization of a batch (an ``ImageBuilder``): CPPNs start from their weights, not
    from photos."""
    if init is not None:
        raise convscope.ConvscopeError("a CPPN starts from random weights, not from a photo: use the lucid recipe")
    return CPPN(seeds, hw, device)


def make_recipe() -> convscope.Recipe:
    """The CPPN recipe: Lucid's transforms, Adam at the paper's small step size."""
    return convscope.Recipe(name="cppn", steps=256, size=128, image=cppn_image, transforms=lucid_transforms,
                            optimizer=functools.partial(torch.optim.Adam, lr=0.005))
