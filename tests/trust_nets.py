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


PALETTE = torch.tensor([[0.8, 0.2, 0.2], [0.2, 0.75, 0.2], [0.2, 0.25, 0.85], [0.8, 0.75, 0.15], [0.75, 0.2, 0.8]])
COLOUR_NAMES = ["red", "green", "blue", "yellow", "magenta"]  # the PALETTE's colours, as class names
PLANTED_FACTORY = "tests/trust_nets.py:planted_model"  # the planted network, as the command line loads it


def colour_photo(colour: int, rng: np.random.Generator) -> np.ndarray:
    """(SIDE, SIDE, 3) uint8: a photo of one of the PALETTE's colours, with random stripes,
    brightness and noise."""
    y, x = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    stripes = 1 + 0.15 * np.sin(2 * np.pi * rng.uniform(2, 6) * (x * rng.uniform(-1, 1) + y) + rng.uniform(0, 6))
    rgb = PALETTE[colour].numpy()[None, None, :] * (stripes * rng.uniform(0.85, 1.1))[..., None]
    return (np.clip(rgb + rng.normal(0, 0.04, rgb.shape), 0, 1) * 255).astype(np.uint8)


def write_colour_photos(folder: Path, count: int, seed: int = 0) -> Path:
    """``count`` PNGs, photo i of colour i % len(PALETTE)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        Image.fromarray(colour_photo(i % len(PALETTE), rng)).save(folder / f"{i:03d}.png")
    return folder


class PlantedNet(nn.Module):
    """Unit k of conv3 detects photos of the PALETTE's colour k: conv1 scores each pixel's
    closeness to each colour (zero unless close), conv2 pools it, and conv3 reads it out. As a
    judge, its embeddings place the colours on separate axes."""

    def __init__(self) -> None:
        super().__init__()
        colours = len(PALETTE)
        centre = PALETTE.mean(dim=0)
        directions = torch.nn.functional.normalize(PALETTE - centre, dim=1)
        own = (directions * (PALETTE - centre)).sum(dim=1)  # each colour's score of itself
        self.conv1 = nn.Conv2d(3, colours, 1)
        self.conv2 = nn.Conv2d(colours, colours, 3, padding=1)
        self.conv3 = nn.Conv2d(colours, colours, 1)
        self.relu = nn.ReLU()
        with torch.no_grad():
            self.conv1.weight.copy_(8 * directions[:, :, None, None])
            self.conv1.bias.copy_(-8 * (directions @ centre + 0.6 * own))
            self.conv2.weight.copy_(torch.eye(colours)[:, :, None, None].expand(colours, colours, 3, 3) / 9)
            self.conv2.bias.zero_()
            self.conv3.weight.copy_(torch.eye(colours)[:, :, None, None])
            self.conv3.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.relu(self.conv2(self.relu(self.conv1(x))))).mean(dim=(2, 3))


def planted_model(name: str = "planted", labels: list[str] | None = None):
    """The planted network (see ``PlantedNet``); ``labels`` names its outputs as classes."""
    from convscope import models

    return models.wrap(PlantedNet(), input_size=SIDE, name=name, min_size=16, labels=labels)
