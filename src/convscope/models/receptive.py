"""Receptive fields computed from the network: which input pixels a position of a layer's map
can see, found by back-propagating from that position (not guessed from the layer's stride)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from convscope.errors import OutOfRangeError
from convscope.models.base import VisionModel
from convscope.models.probe import Probe


@dataclass(frozen=True)
class ReceptiveField:
    """A layer's receptive field at the network's input size: ``size`` (h, w) in input pixels,
    and the input position of the field's centre for map position (y, x): ``offset`` +
    ``stride`` * (y, x)."""

    size: tuple[int, int]
    stride: tuple[float, float]
    offset: tuple[float, float]
    input_size: int

    def box(self, y: int, x: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) in input pixels of the field of position (y, x); a field
        that crosses the image's edge is moved inside it (its size kept), so crops stay square."""
        cy, cx = self.offset[0] + self.stride[0] * y, self.offset[1] + self.stride[1] * x
        n = self.input_size
        top = min(max(round(cy - (self.size[0] - 1) / 2), 0), n - self.size[0])
        left = min(max(round(cx - (self.size[1] - 1) / 2), 0), n - self.size[1])
        return top, left, top + self.size[0], left + self.size[1]


def _support(model: VisionModel, layer: str, y: int, x: int, seeds: int = 8) -> torch.Tensor:
    """(H, W) bool: the input pixels on which position (y, x) of ``layer`` depends (the sum of
    its channels, over a few random images so that no pixel hides behind a dead activation)."""
    n = model.input_size
    total = torch.zeros(n, n)
    with model.math_mode(), Probe(model, [layer]) as probe:
        for seed in range(seeds):
            image = torch.rand(1, 3, n, n, generator=torch.Generator().manual_seed(seed)).to(model.device)
            image.requires_grad_(True)
            acts = probe(image)[layer]
            acts[0, :, y, x].sum().backward()
            assert image.grad is not None
            total += image.grad[0].abs().sum(dim=0).float().cpu()
    return total > 0


def _bounds(mask: torch.Tensor) -> tuple[int, int, int, int]:
    rows, cols = mask.any(dim=1).nonzero(), mask.any(dim=0).nonzero()
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def receptive_field(model: VisionModel, layer: str) -> ReceptiveField:
    """The receptive field of ``layer``'s positions, from the input pixels its centre position
    depends on (its size) and how that field moves between two positions (its stride)."""
    info = model.layer(layer)
    if not info.spatial:
        raise OutOfRangeError(f"layer {info.name} has no positions: its units see the whole image")
    n = model.input_size
    with torch.no_grad(), Probe(model, [info.name]) as probe:
        h, w = probe(torch.full((1, 3, n, n), 0.5, device=model.device))[info.name].shape[-2:]
    cy, cx = h // 2, w // 2
    top, left, bottom, right = _bounds(_support(model, info.name, cy, cx))
    centre = ((top + bottom - 1) / 2, (left + right - 1) / 2)
    # the stride is what the input size says; the offset puts the centre position where it was found
    stride = (n / h, n / w)
    offset = (centre[0] - stride[0] * cy, centre[1] - stride[1] * cx)
    return ReceptiveField((bottom - top, right - left), stride, offset, n)
