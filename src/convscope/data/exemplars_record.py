"""What an exemplars folder records, typed: ``exemplars.json``, the pass's settings, its photos
and the result file of each layer. The JSON file keeps its keys and order."""
from __future__ import annotations

from dataclasses import dataclass

from convscope.runtime.record import Record


@dataclass(kw_only=True)
class ExemplarsRecord(Record):
    """``exemplars.json``.

    Attributes:
        model, layers: the network and the layers read.
        top: photos kept per unit, by peak and by mean.
        size: the side the photos were read at.
        batch: photos per forward pass.
        photos, files_signature: the folder's photos, and what identifies their files.
        precision: the network's precision.
        root: the photo folder.
        files: the photos, relative to ``root``, in the order the result files index them.
        skipped: the photos that could not be read, and why.
        layer_files: each layer's result file, in the folder.
    """

    model: str
    layers: list[str]
    top: int
    size: int
    batch: int
    photos: int
    files_signature: str
    precision: str
    root: str
    files: list[str]
    skipped: list[dict]
    layer_files: dict[str, str]

    def settings(self) -> dict:
        """What identifies the pass (the keys before the photos' list)."""
        return {name: getattr(self, name) for name in ("model", "layers", "top", "size", "batch", "photos",
                                                       "files_signature", "precision")}
