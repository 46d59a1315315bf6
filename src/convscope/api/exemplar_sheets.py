"""A unit's dataset examples from a finished exemplars pass, as one picture: for a front end
that shows a unit beside the photos that excite it most."""
from __future__ import annotations

from pathlib import Path

from convscope.data.exemplar_crops import ExemplarIndex
from convscope.io.picture import Picture
from convscope.models.base import VisionModel


def exemplar_sheet(model: VisionModel, folder: str | Path, layer: str, unit: int, count: int = 9) -> Picture:
    """The unit's ``count`` best photos of the pass, each cropped to the unit's receptive field
    around its peak (whole photos for a layer without positions), on a square sheet.

    Args:
        model: the network of the pass.
        folder: a finished exemplars folder that holds ``layer``.
        layer: the unit's layer.
        unit: the unit.
        count: how many photos.
    Returns:
        The sheet.
    Raises:
        ImageInputError: no finished pass there, or a pass of another network.
    """
    return ExemplarIndex.open(folder, model).sheet(model, layer, unit, count)
