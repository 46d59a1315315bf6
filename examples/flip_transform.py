"""A transform of your own in a recipe: Lucid's transforms, then a random mirror image. A
transform draws its random parameters from the seeded generator in ``draw`` and applies them
in ``transform``, so the same seed gives the same pixels.

    convscope grid efficientnet-lite0 block8 --recipe examples/flip_transform.py:make_recipe -o flips.png
"""
from __future__ import annotations

import torch

import convscope
from convscope.engine.transforms import AtPictureSize, LucidTransforms


class LucidThenFlip(LucidTransforms):
    """Lucid's pad, jitter, scale and rotation, then a left-right flip every other step on average."""

    def draw(self, gen: torch.Generator) -> tuple:
        return (*super().draw(gen), bool(torch.rand(1, generator=gen) < 0.5))

    def transform(self, x: torch.Tensor, *params: object) -> torch.Tensor:
        *lucid, flip = params
        moved = super().transform(x, *lucid)
        return moved.flip(-1) if flip else moved


def make_recipe() -> convscope.Recipe:
    """The lucid recipe with the mirror added."""
    return convscope.get_recipe("lucid").with_parts("lucid-flip", transforms=AtPictureSize(LucidThenFlip))
