"""Photos of five kinds (warm stripes, green checks, gray diagonals, purple dots, blue
blocks) and a small random convolutional network: a unit's top photos are nearly all of one
kind, so its path is known."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

KINDS, SIDE = 5, 64


def kind_photo(kind: int, rng: np.random.Generator) -> np.ndarray:
    """(SIDE, SIDE, 3) uint8: a photo of ``kind`` with a random frequency, phase and noise."""
    y, x = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    f, phase = rng.uniform(3, 6), rng.uniform(0, 2 * np.pi)
    if kind == 0:
        v = 0.5 + 0.4 * np.sin(2 * np.pi * f * y + phase)
        rgb = np.stack([v, 0.4 * v, 0.1 + 0 * v], -1)
    elif kind == 1:
        v = ((np.floor(x * f * 2) + np.floor(y * f * 2)) % 2) * 0.6 + 0.2
        rgb = np.stack([0.2 * v, v, 0.3 * v], -1)
    elif kind == 2:
        v = 0.5 + 0.4 * np.sin(2 * np.pi * f * (x + y) + phase)
        rgb = np.stack([v, v, v], -1)
    elif kind == 3:
        v = ((np.sin(2 * np.pi * f * x + phase) * np.sin(2 * np.pi * f * y)) > 0.5) * 0.8 + 0.1
        rgb = np.stack([v, 0.2 * v, v], -1)
    else:
        v = np.kron(rng.random((8, 8)), np.ones((SIDE // 8, SIDE // 8)))
        rgb = np.stack([0.1 * v, 0.3 * v, v], -1)
    return (np.clip(rgb + rng.normal(0, 0.05, rgb.shape), 0, 1) * 255).astype(np.uint8)


def write_kind_photos(folder: Path, count: int, seed: int = 0) -> Path:
    """``count`` PNGs, photo i of kind i % KINDS."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(kind_photo(i % KINDS, rng)).save(folder / f"{i:03d}.png")
    return folder


class SmallNet(nn.Module):
    """Three random convolutions (16, 16 and 4 channels) with ReLUs between them."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.conv1 = nn.Conv2d(3, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 16, 3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(16, 4, 3, stride=2, padding=1)
        self.relu = nn.ReLU()
        with torch.no_grad():
            for conv in (self.conv1, self.conv2, self.conv3):
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) / conv.weight[0].numel() ** 0.5)
                conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.relu(self.conv2(self.relu(self.conv1(x - 0.5))))).mean(dim=(2, 3))


class BlindNet(nn.Module):
    """A judge that ignores its input: its maps are the same for every image."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.zeros_like(x)).mean(dim=(2, 3))


def small_model():
    from convscope import models

    return models.wrap(SmallNet(), input_size=SIDE, name="small", min_size=16)


def blind_model():
    from convscope import models

    return models.wrap(BlindNet(), input_size=32, name="blind", min_size=16)
