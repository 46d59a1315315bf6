"""Fidelity: how a unit's picture compares with what real photos make the unit do."""
from __future__ import annotations

from typing import Sequence

import torch

from .classify import prepare
from .models.base import VisionModel
from .photos import Photo
from .probe import Probe


def photo_activations(model: VisionModel, layer: str, photos: Sequence[Photo]) -> torch.Tensor:
    """(photos, channels): each channel's mean activation on each photo at the model's input size."""
    rows = []
    with torch.no_grad(), Probe(model, [layer]) as probe:
        for photo in photos:
            a = probe(prepare(model, photo.pixels))[layer][0]
            rows.append((a.flatten(1).mean(dim=1) if a.dim() > 1 else a).cpu())
    return torch.stack(rows)


def photo_maxima(model: VisionModel, layer: str, photos: Sequence[Photo]) -> torch.Tensor:
    """(channels,): the highest mean activation each channel reaches on any of the photos."""
    return photo_activations(model, layer, photos).max(dim=0).values


def fidelity(picture_activation: float, photo_max: float) -> float | None:
    """The picture's activation over the best photo's; None when the photos never excite it."""
    if photo_max <= 0:
        return None
    return picture_activation / photo_max
