"""Where a dictionary's training vectors come from: anything that can hand out seeded
minibatches, epoch after epoch, without holding every vector (the shards of a photo pass)."""
from __future__ import annotations

from typing import Iterator, Protocol

import torch


class VectorSource(Protocol):
    """Training vectors handed out in minibatches.

    Attributes:
        count: the number of vectors.
        channels: the length of each.
    """

    count: int
    channels: int

    def minibatches(self, size: int, epoch: int, seed: int) -> Iterator[torch.Tensor]:
        """(n, C) float32 minibatches of every vector once, in an order fixed by (seed, epoch)."""
        ...


def channel_moments(source: VectorSource) -> tuple[torch.Tensor, float]:
    """The channels' mean (C,) and the root mean squared norm of the centred vectors, from one
    pass over ``source``."""
    total = torch.zeros(source.channels, dtype=torch.float64)
    squares = 0.0
    for x in source.minibatches(8192, 0, 0):
        x64 = x.double()
        total += x64.sum(dim=0)
        squares += float((x64 ** 2).sum())
    mean = total / max(source.count, 1)
    variance = squares / max(source.count, 1) - float((mean ** 2).sum())
    return mean.float(), max(variance, 1e-12) ** 0.5
