"""One streaming pass for objectives: the photos that raise each most, the best photos of every
unit of some layers, and the mean activation of some layers over every photo (the baseline of
an attribution).

``ObjectivePhotosPass`` plugs into ``run_pass``, so the photos stream in batches, in shards that
merge; ties go to the lower photo index, so the shards merge to what one process reading every
batch keeps. Its part carries the objectives (functions), so it is not saved to a checkpoint."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from convscope.data.photo_pass import BatchSeen
from convscope.data.unit_exemplars import ExemplarSet
from convscope.engine.objectives import Objective
from convscope.models.base import VisionModel


def _keep_best(values: torch.Tensor, photos: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``count`` highest values with their photos, best first; the lower photo wins a tie."""
    order = sorted(range(len(values)), key=lambda i: (-float(values[i]), int(photos[i])))[:count]
    return values[order], photos[order]


@dataclass
class ObjectivePhotos:
    """The best photos of each objective (value and index, best first), of each unit of some
    layers (``units``), and per layer, the sum over the photos of each channel's spatial mean
    as the network uses it."""

    best_values: list[torch.Tensor]
    best_photos: list[torch.Tensor]
    units: ExemplarSet
    sums: dict[str, torch.Tensor]
    objective_sums: list[float]
    count: int
    photos: int = 0
    readable: list[int] = field(default_factory=list)

    def mean(self, layer: str) -> torch.Tensor:
        """(C,): each channel's mean over the photos read (of its spatial mean)."""
        return (self.sums[layer] / max(self.photos, 1)).float()

    def objective_mean(self, i: int) -> float:
        """Objective ``i``'s mean over the photos read."""
        return self.objective_sums[i] / max(self.photos, 1)

    def add(self, model: VisionModel, seen: BatchSeen, objectives: list[Objective]) -> None:
        """Takes a batch: the objectives' values and the layers' channel means."""
        indices = seen.indices.cpu()
        for i, objective in enumerate(objectives):
            values = objective(seen.acts).detach().float().cpu()
            self.objective_sums[i] += float(values.double().sum())
            self.best_values[i], self.best_photos[i] = _keep_best(torch.cat([self.best_values[i], values]),
                                                                  torch.cat([self.best_photos[i], indices]), self.count)
        self.units.add(model, seen)
        for layer in self.sums:
            maps = model.layer(layer).as_used(seen.acts[layer]).detach().float().cpu()
            self.sums[layer] += (maps.flatten(2).mean(dim=2) if maps.dim() > 2 else maps).double().sum(dim=0)
        self.photos += len(indices)
        self.readable += indices.tolist()

    def merge(self, later: "ObjectivePhotos") -> None:
        """Folds in the part of later photos."""
        for i in range(len(self.best_values)):
            self.best_values[i], self.best_photos[i] = _keep_best(
                torch.cat([self.best_values[i], later.best_values[i]]),
                torch.cat([self.best_photos[i], later.best_photos[i]]), self.count)
        self.units.merge(later.units)
        self.objective_sums = [a + b for a, b in zip(self.objective_sums, later.objective_sums)]
        for layer in self.sums:
            self.sums[layer] += later.sums[layer]
        self.photos += later.photos
        self.readable += later.readable


@dataclass
class ObjectivePhotosPart:
    """What the pass keeps of some photos (the objectives travel with it, not in a saved state)."""

    kept: ObjectivePhotos
    objectives: list[Objective]

    def add(self, model: VisionModel, seen: BatchSeen) -> None:
        self.kept.add(model, seen, self.objectives)

    def merge(self, later: "ObjectivePhotosPart") -> None:
        self.kept.merge(later.kept)


@dataclass(frozen=True)
class ObjectivePhotosPass:
    """The pass: the ``count`` best photos of each objective and of each unit of ``unit_layers``,
    and the channel means of ``mean_layers`` (layers given with their channel counts)."""

    objectives: tuple[Objective, ...]
    unit_layers: dict[str, int]
    mean_layers: dict[str, int]
    count: int

    @property
    def layers(self) -> list[str]:
        needed = [name for objective in self.objectives for name in objective.layers]
        return list(dict.fromkeys([*needed, *self.unit_layers, *self.mean_layers]))

    def empty(self) -> ObjectivePhotosPart:
        kept = ObjectivePhotos([torch.empty(0) for _ in self.objectives],
                               [torch.empty(0, dtype=torch.long) for _ in self.objectives],
                               ExemplarSet.empty(self.unit_layers, self.count),
                               {name: torch.zeros(c, dtype=torch.float64) for name, c in self.mean_layers.items()},
                               [0.0 for _ in self.objectives], self.count)
        return ObjectivePhotosPart(kept, list(self.objectives))
