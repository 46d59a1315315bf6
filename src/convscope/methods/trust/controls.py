"""The controls a unit's pictures are measured against: the recipe's own starting noise for the
same seeds, and the pictures of other units of the same layer (already rendered in any
multi-unit run), each read once as the measures read images."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from convscope.engine.batch import as_seen
from convscope.engine.recipes import Recipe
from convscope.io.picture import Picture
from convscope.models.base import VisionModel

OTHER_UNITS = 15
"""The other units' pictures a unit is compared with at most: the nearest units rendered with it."""


@dataclass(frozen=True)
class PictureSet:
    """Reference pictures as the trust measures read them.

    Attributes:
        embeddings: (R, D) the judge's embeddings.
        means: per earlier main layer, (R, C) channel means (empty for the first layer).
    """

    embeddings: torch.Tensor
    means: dict[str, torch.Tensor]


def starting_noise(recipe: Recipe, model: VisionModel, seeds: Sequence[int]) -> torch.Tensor:
    """(len(seeds), 3, H, W): the images a render with ``recipe`` starts from for ``seeds``, shown
    and saved as its pictures are, then seen as the network judges them."""
    with torch.no_grad():
        images = recipe.image(list(seeds), recipe.hw, model.device)().detach().cpu()
    saved = [Picture.from_tensor(image) for image in recipe.shown(images)]
    return as_seen(recipe, model, torch.stack([p.to_tensor() for p in saved]))


def other_units(unit: int, units: Sequence[int], count: int = OTHER_UNITS) -> list[int]:
    """Up to ``count`` units of ``units`` (which holds ``unit``) other than ``unit``, the nearest
    in the list first."""
    place = {u: i for i, u in enumerate(units)}
    others = [u for u in units if u != unit]
    return sorted(others, key=lambda u: (abs(place[u] - place[unit]), place[u]))[:count]
