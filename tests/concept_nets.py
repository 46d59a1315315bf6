"""A small network whose layer ``mix`` is a known sparse non-negative mix of six fixed
directions, and photos that drive it: the concepts' ground truth.

Each 16 px patch of a photo is 0.5 gray plus one or two of six orthogonal zero-mean patterns,
each with a weight in [0.5, 1]. The patch convolution ``codes`` reads exactly those weights
(one channel per pattern); ``mix`` maps them to 16 channels along DIRECTIONS (non-negative, unit
norm). The class head reads pooled ``mix``; class 0 responds to concept 2 alone."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

CONCEPTS, CHANNELS, PATCH, SIDE = 6, 16, 16, 64
SCALE = 1.5  # pixel units per unit of code


def directions() -> torch.Tensor:
    """(6, 16) the ground-truth directions: non-negative, unit norm."""
    d = torch.rand(CONCEPTS, CHANNELS, generator=torch.Generator().manual_seed(5)) ** 3
    return d / d.norm(dim=1, keepdim=True)


def patterns() -> torch.Tensor:
    """(6, 3, 16, 16) orthonormal zero-mean patterns."""
    g = torch.Generator().manual_seed(6)
    basis = torch.cat([torch.ones(1, 3 * PATCH * PATCH), torch.randn(CONCEPTS, 3 * PATCH * PATCH, generator=g)])
    q, _ = torch.linalg.qr(basis.T)
    return q.T[1:].reshape(CONCEPTS, 3, PATCH, PATCH)


class PlantedNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.codes = nn.Conv2d(3, CONCEPTS, PATCH, stride=PATCH, bias=False)
        self.relu = nn.ReLU()
        self.mix = nn.Conv2d(CONCEPTS, CHANNELS, 1, bias=False)
        self.head = nn.Linear(CHANNELS, 4)
        with torch.no_grad():
            self.codes.weight.copy_(patterns() / SCALE)
            self.mix.weight.copy_(directions().T[:, :, None, None])
            pinv = torch.linalg.pinv(directions().T)  # (6, 16): mix -> codes
            self.head.weight.copy_(torch.stack([pinv[2], pinv[0] + pinv[1], pinv[3], pinv[4] + pinv[5]]))
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.mix(self.relu(self.codes(x - 0.5))).mean(dim=(2, 3)))


def make_model():
    """The factory the command line takes as tests/concept_nets.py:make_model."""
    from convscope import models

    return models.wrap(PlantedNet(), input_size=SIDE, name="planted", min_size=PATCH)


def write_photos(folder: Path, count: int, seed: int = 0) -> Path:
    """``count`` PNG photos of 64 px into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    p = patterns().numpy()
    for n in range(count):
        image = np.full((3, SIDE, SIDE), 0.5)
        for y in range(0, SIDE, PATCH):
            for x in range(0, SIDE, PATCH):
                for concept in rng.choice(CONCEPTS, size=1 + int(rng.random() < 0.3), replace=False):
                    image[:, y:y + PATCH, x:x + PATCH] += SCALE * rng.uniform(0.5, 1.0) * p[concept]
        pixels = (np.clip(image, 0, 1).transpose(1, 2, 0) * 255).round().astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"photo{n:04d}.png")
    return folder
