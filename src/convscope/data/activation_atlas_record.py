"""What an activation atlas folder records, typed: each cell's record (``cells/rNNcNN.json``)
and ``activation-atlas.json``, every cell with the settings. The JSON files keep their keys and
order."""
from __future__ import annotations

from dataclasses import dataclass

from convscope.runtime.record import Record


@dataclass(kw_only=True)
class CellClass(Record):
    """A class the cell's direction drives: the network's softmax probability for its picture."""

    index: int
    name: str
    probability: float


@dataclass(kw_only=True)
class CellPhoto(Record):
    """A photo near the cell's mean direction: its file, and the (y, x) position of the vector."""

    file: str
    position: list[int]


@dataclass(kw_only=True)
class CellRecord(Record):
    """One finished cell.

    Attributes:
        key: what identifies the settings it was rendered with.
        name, row, column: the cell (``rNNcNN``) and its place, from the top left.
        count: the activation vectors in it.
        activation: its picture's activation along the mean direction.
        classes: the classes its picture drives most.
        photos: the photos nearest to its mean direction.
    """

    key: str
    name: str
    row: int
    column: int
    count: int
    activation: float
    classes: list[CellClass]
    photos: list[CellPhoto]


@dataclass(kw_only=True)
class ActivationAtlasRecord(Record):
    """``activation-atlas.json``: the settings, the photos read, and every cell, row by row.

    Attributes:
        model, layer: the network and the layer laid out.
        grid, min_count: the grid's side and the vectors a cell needs to be drawn.
        samples, seed: the activation vectors laid out, and the seed of the sampling, the layout
            and the pictures.
        recipe: the pictures' recipe (``Recipe.as_dict``).
        precision: the network's precision.
        photos, photos_read, skipped: the folder's photos, those read, and why the others were not.
        map_size: the layer's (height, width).
        cells: the cells drawn.
    """

    model: str
    layer: str
    grid: int
    min_count: int
    samples: int
    seed: int
    recipe: dict
    precision: str
    photos: int
    photos_read: int
    skipped: list[dict]
    map_size: list[int]
    cells: list[CellRecord]
