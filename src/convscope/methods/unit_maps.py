"""Where in a photo a unit fires: its activation map over the photo, as heat over the photo
dimmed to gray (the saliency page's colours), for a unit's top photos."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from convscope.errors import OutOfRangeError
from convscope.io.photo_reading import as_photo
from convscope.io.picture import Picture
from convscope.methods.saliency import overlay
from convscope.models import VisionModel, as_model
from convscope.models.probe import Probe


def unit_maps(model: VisionModel | str, layer: str, unit: int, photos: Sequence[object]) -> list[Picture]:
    """Each photo (its centre square at the network's input size) with the unit's map over it:
    the activation after the layer's activation function, above zero, scaled by its largest
    value in that photo and upsampled to the photo.

    Args:
        model: a VisionModel or a model's name.
        layer: a layer with positions.
        unit: the unit (channel).
        photos: paths, Pictures, PIL images or arrays.
    Returns:
        One picture per photo.
    Raises:
        OutOfRangeError: a layer without positions, or a unit out of range.
    """
    model = as_model(model)
    info = model.layer(layer)
    if not info.spatial:
        raise OutOfRangeError(f"layer {info.name} has no positions to map: choose a conv layer")
    if not 0 <= unit < info.channels:
        raise OutOfRangeError(f"unit {unit} is out of range for {info.name}, which has {info.channels} units "
                              f"(0..{info.channels - 1})")
    pictures = []
    with torch.no_grad(), Probe(model, [info.name]) as probe:
        for photo in photos:
            image = model.prepare(as_photo(photo))
            maps = info.as_used(probe(image)[info.name]).float()
            if maps.dim() != 4:
                raise OutOfRangeError(f"layer {info.name} gives no maps of positions: choose a conv layer")
            heat = maps[0, unit].clamp(min=0)
            heat = heat / heat.max().clamp(min=1e-12)
            heat = F.interpolate(heat[None, None], size=image.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
            pixels = (image[0].permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
            pictures.append(Picture(overlay(pixels, heat.cpu().numpy())))
    return pictures
