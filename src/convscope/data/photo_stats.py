"""What real photos make units do, in one streaming pass: the photos (a folder of any size,
read in DataLoader workers, or the built-in set in memory) go through the network in
batches, one forward per batch for every layer asked for, and each unit keeps only its
best photos (by peak, with where the peak is, and by mean), its running mean and its
highest peak, on the layer as read and after its activation function. `stats`, `grid`,
the atlas and `twins` all read photos through here, by ``photo_pass`` (in this process, or
on a cluster when the source has such a runner).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from convscope.data.joint_pass import run_passes
from convscope.data.photo_pass import BatchSeen
from convscope.data.photo_sources import PHOTO_BATCH, PhotosLike, as_source
from convscope.data.unit_exemplars import ExemplarSet, LayerExemplars
from convscope.models.base import VisionModel
from convscope.runtime.progress import Progress


@dataclass
class PhotoStats:
    """A layer's best photos per unit (``top`` of them), as read and after the layer's
    activation function (None when it has none), with the photos' names; with ``low``, also
    each unit's lowest photos by mean (``low``), and the photos that could be read."""

    read: LayerExemplars
    after: LayerExemplars | None
    names: list[str]
    map_size: tuple[int, int] | None
    low: LayerExemplars | None = None
    readable: list[int] = field(default_factory=list)

    def best(self, peak: bool = False, after: bool = False) -> torch.Tensor:
        """(C,): the highest peak (or mean) each unit reaches on any photo."""
        stats = self.after if after and self.after is not None else self.read
        return (stats.peak_values if peak else stats.mean_values)[:, 0]

    def best_photo(self, unit: int, peak: bool = False) -> str:
        """The name of the photo with the unit's highest peak (or mean)."""
        photos = self.read.peak_photos if peak else self.read.mean_photos
        return self.names[int(photos[unit, 0])]

    def top_by_mean(self, unit: int) -> list[tuple[int, float]]:
        """The unit's best photos by mean, best first: (photo index, mean)."""
        return [(int(i), float(v)) for i, v in zip(self.read.mean_photos[unit], self.read.mean_values[unit]) if i >= 0]

    def bottom_by_mean(self, unit: int) -> list[tuple[int, float]]:
        """The unit's lowest photos by mean, lowest first: (photo index, mean); empty without ``low``."""
        if self.low is None:
            return []
        return [(int(i), -float(v)) for i, v in zip(self.low.mean_photos[unit], self.low.mean_values[unit]) if i >= 0]


@dataclass
class StatsPart:
    """What the statistics pass keeps of some photos: the best photos per unit as read, after
    the activation function, and the lowest by mean (the best of the negated maps), and the
    photos read."""

    read: ExemplarSet
    after: ExemplarSet
    lowest: ExemplarSet
    readable: list[int] = field(default_factory=list)

    def add(self, model: VisionModel, seen: BatchSeen) -> None:
        indices, acts = seen.indices, seen.acts
        for name in self.read.results:
            self.read.update(name, indices, acts[name])
        for name in self.after.results:
            self.after.update(name, indices, model.layer(name).as_used(acts[name]))
        for name in self.lowest.results:  # the highest of the negated means are the lowest means
            self.lowest.update(name, indices, -acts[name])
        self.readable += indices.tolist()

    def merge(self, later: "StatsPart") -> None:
        self.read.merge(later.read)
        self.after.merge(later.after)
        self.lowest.merge(later.lowest)
        self.readable += later.readable


@dataclass(frozen=True)
class StatsPass:
    """The statistics pass: ``top`` photos per unit of ``layers`` (with ``channels``), also after
    the activation function of the layers ``with_after``, and with ``low``, the lowest."""

    layers: list[str]
    channels: dict[str, int]
    with_after: list[str]
    top: int
    low: int

    def empty(self) -> StatsPart:
        return StatsPart(ExemplarSet.empty(self.channels, self.top),
                         ExemplarSet.empty({n: self.channels[n] for n in self.with_after}, self.top),
                         ExemplarSet.empty(self.channels if self.low > 0 else {}, self.low))


def stats_pass(model: VisionModel, layers: Sequence[str], *, top: int = 1, low: int = 0) -> StatsPass:
    """The statistics pass of ``layers``: the ``top`` photos of every unit (and with ``low``, its
    ``low`` lowest by mean), also after each layer's activation function."""
    names = [model.layer(name).name for name in layers]
    return StatsPass(names, {n: model.layer(n).channels for n in names}, [n for n in names if model.layer(n).after],
                     top, low)


def layer_stats(part: StatsPart, names: list[str]) -> dict[str, PhotoStats]:
    """Per layer of the pass, its statistics, from what the pass kept of every photo
    (``names``: the source's photos)."""
    return {n: PhotoStats(part.read.results[n], part.after.results.get(n), names, part.read.results[n].map_size,
                          part.lowest.results.get(n), part.readable)
            for n in part.read.results}


def photo_statistics(model: VisionModel, layers: Sequence[str], photos: PhotosLike = None,
                     *, top: int = 1, low: int = 0, batch: int = PHOTO_BATCH, progress: Progress | None = None
                     ) -> dict[str, PhotoStats]:
    """Per layer, the ``top`` photos of every unit (and with ``low``, its ``low`` lowest by
    mean), in one pass over ``photos`` (the built-in set when None): one forward per batch
    for all ``layers``, stopped after the deepest, read where the source's runner reads.

    Raises:
        ImageInputError: no photo could be read.
    """
    source = as_source(photos)
    part = run_passes(model, source, {"stats": stats_pass(model, layers, top=top, low=low)}, batch=batch,
                      progress=progress)["stats"]
    return layer_stats(part, source.names)
