"""Each photo's mean activation of every unit of one layer (the spatial mean of the layer as
the network uses it), and optionally the network's top class for the photo, in one streaming
pass (``run_pass``): what labels rank photos by."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from convscope.data.photo_pass import BatchSeen
from convscope.models.base import LOGITS, VisionModel


@dataclass
class PhotoMeans:
    """The photos read (indices, in order), their units' means (n, C) and, when asked, their
    top classes (n,)."""

    indices: torch.Tensor
    means: torch.Tensor
    predicted: torch.Tensor | None

    def add(self, model: VisionModel, seen: BatchSeen, layer: str) -> None:
        """Takes a batch."""
        maps = model.layer(layer).as_used(seen.acts[layer]).detach().float().cpu()
        means = maps.flatten(2).mean(dim=2) if maps.dim() > 2 else maps
        self.indices = torch.cat([self.indices, seen.indices.cpu()])
        self.means = torch.cat([self.means, means])
        if self.predicted is not None:
            self.predicted = torch.cat([self.predicted, seen.acts[LOGITS].detach().argmax(dim=1).cpu()])

    def merge(self, later: "PhotoMeans") -> None:
        """Folds in the part of later photos."""
        self.indices = torch.cat([self.indices, later.indices])
        self.means = torch.cat([self.means, later.means])
        if self.predicted is not None and later.predicted is not None:
            self.predicted = torch.cat([self.predicted, later.predicted])


@dataclass
class PhotoMeansPart:
    """What the pass keeps of some photos, with the layer it reads."""

    kept: PhotoMeans
    layer: str

    def add(self, model: VisionModel, seen: BatchSeen) -> None:
        self.kept.add(model, seen, self.layer)

    def merge(self, later: "PhotoMeansPart") -> None:
        self.kept.merge(later.kept)


@dataclass(frozen=True)
class PhotoMeansPass:
    """The pass: ``layer``'s unit means (it has ``channels`` units) and, with ``predict``, each
    photo's top class."""

    layer: str
    channels: int
    predict: bool

    @property
    def layers(self) -> list[str]:
        return list(dict.fromkeys([self.layer, *([LOGITS] if self.predict else [])]))

    def empty(self) -> PhotoMeansPart:
        kept = PhotoMeans(torch.empty(0, dtype=torch.long), torch.empty(0, self.channels),
                          torch.empty(0, dtype=torch.long) if self.predict else None)
        return PhotoMeansPart(kept, self.layer)
