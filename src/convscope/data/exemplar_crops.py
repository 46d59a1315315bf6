"""A finished ``convscope exemplars`` pass, read back: each unit's top photos cropped to the
unit's receptive field around its peak, as a 3x3 sheet."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from convscope.data.exemplars_record import ExemplarsRecord
from convscope.data.layer_files import SUMMARY_FILE, load_layer_file
from convscope.data.photo_stream import read_tensor
from convscope.errors import ImageInputError
from convscope.io.picture import Picture, stitch
from convscope.models.base import VisionModel
from convscope.models.receptive import ReceptiveField, receptive_field

TILE_PX = 96


@dataclass
class ExemplarIndex:
    """The pass's files and per-layer results, and the receptive fields found so far."""

    root: Path
    record: ExemplarsRecord
    layers: dict[str, dict[str, np.ndarray]]
    fields: dict[str, ReceptiveField | None] = field(default_factory=dict)

    @classmethod
    def open(cls, folder: str | Path, model: VisionModel) -> "ExemplarIndex":
        folder = Path(folder)
        path = folder / SUMMARY_FILE
        if not path.is_file():
            raise ImageInputError(f"{folder} holds no finished exemplars pass (no {SUMMARY_FILE}): run "
                                  f"the exemplars pass over a photo folder into {folder} first")
        record = ExemplarsRecord.from_json(json.loads(path.read_text()), str(path))
        if record.model != model.name:
            raise ImageInputError(f"the exemplars in {folder} are of {record.model}, not {model.name}")
        layers = {name: load_layer_file(folder / filename)[0] for name, filename in record.layer_files.items()}
        return cls(Path(record.root), record, layers)

    def signature(self) -> dict:
        """What identifies the pass, for an atlas's settings."""
        record = self.record
        return {"files_signature": record.files_signature, "top": record.top, "size": record.size,
                "batch": record.batch}

    def top_photos(self, layer: str, unit: int, count: int = 9) -> list[dict]:
        """The unit's best photos by peak: file, peak value and (y, x) of the peak."""
        arrays = self.layers[layer]
        rows = []
        for photo, value, (y, x) in zip(arrays["peak_photos"][unit][:count], arrays["peak_values"][unit][:count],
                                        arrays["peak_positions"][unit][:count]):
            if photo >= 0:
                rows.append({"file": self.record.files[int(photo)], "peak": float(value),
                             "position": [int(y), int(x)]})
        return rows

    def receptive(self, model: VisionModel, layer: str) -> ReceptiveField | None:
        if layer not in self.fields:
            self.fields[layer] = receptive_field(model, layer) if model.layer(layer).spatial else None
        return self.fields[layer]

    def sheet(self, model: VisionModel, layer: str, unit: int, count: int = 9) -> Picture:
        """The top photos cropped to the receptive field around their peaks (whole photos for
        a layer without positions, such as the logits), on a square sheet."""
        rf = self.receptive(model, layer)
        size = self.record.size
        return stitch([field_crop(self.root / top["file"], size, rf, top["position"], TILE_PX)
                       for top in self.top_photos(layer, unit, count)])


def field_crop(path: Path, size: int, rf: ReceptiveField | None, position: Sequence[int], px: int) -> Picture:
    """The photo at ``path`` as the network sees it (``size`` square), cropped to the receptive
    field ``rf`` around map ``position`` (whole without one), resized to ``px``."""
    return crop_to_field(read_tensor(path, size), rf, position, px)


def crop_to_field(image: torch.Tensor, rf: ReceptiveField | None, position: Sequence[int], px: int) -> Picture:
    """A (3, S, S) image in [0, 1] cropped to the receptive field ``rf`` around map ``position``
    (whole without one), resized to ``px``."""
    if rf is not None:
        t, l, b, r = rf.box(*(int(v) for v in position))
        image = image[:, t:b, l:r]
    return Picture.from_tensor(F.interpolate(image[None], size=(px, px), mode="bilinear", antialias=True,
                                             align_corners=False)[0])
