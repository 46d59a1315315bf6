"""Each unit's top photos by peak (with where the peak is) and by mean, and its running mean
and maximum, updated batch by batch in bounded memory. Ties go to the lower photo index, so
the result equals a brute-force sort. Results of consecutive runs of photos merge to what one
run over all of them gives, to the bit."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from convscope.data.photo_pass import BatchSeen, saved_kind
from convscope.models.base import VisionModel


@saved_kind
@dataclass
class LayerExemplars:
    """Per unit: the best ``k`` photos by peak (value, photo, (y, x) of the peak in the layer's
    map) and by mean, the mean of the photos' means and the highest peak. Photo -1 is empty."""

    peak_values: torch.Tensor  # (C, k) float32, best first
    peak_photos: torch.Tensor  # (C, k) int64
    peak_positions: torch.Tensor  # (C, k, 2) int64
    mean_values: torch.Tensor  # (C, k)
    mean_photos: torch.Tensor  # (C, k)
    sum_of_means: torch.Tensor  # (C,) float64
    max_peak: torch.Tensor  # (C,) float32
    photos: int = 0
    map_size: tuple[int, int] | None = None

    @classmethod
    def empty(cls, channels: int, k: int) -> "LayerExemplars":
        return cls(torch.full((channels, k), -torch.inf), torch.full((channels, k), -1, dtype=torch.long),
                   torch.zeros(channels, k, 2, dtype=torch.long), torch.full((channels, k), -torch.inf),
                   torch.full((channels, k), -1, dtype=torch.long), torch.zeros(channels, dtype=torch.float64),
                   torch.full((channels,), -torch.inf))

    @property
    def running_mean(self) -> torch.Tensor:
        return (self.sum_of_means / max(self.photos, 1)).float()

    def update(self, photo_ids: torch.Tensor, acts: torch.Tensor) -> torch.Tensor:
        """Takes a batch of a layer's outputs, (B, C, H, W) maps or (B, C) vectors, of photos
        ``photo_ids`` (increasing); returns the batch's (C,) float64 sum of the photos' means."""
        acts = acts.float().cpu()
        b, c = acts.shape[:2]
        flat = acts.reshape(b, c, -1)
        peaks, where = flat.max(dim=2)  # (B, C)
        means = flat.mean(dim=2)
        if acts.dim() == 4:
            self.map_size = (acts.shape[-2], acts.shape[-1])
            w = acts.shape[-1]
            positions = torch.stack((where // w, where % w), dim=-1)  # (B, C, 2)
        else:
            positions = torch.zeros(b, c, 2, dtype=torch.long)
        ids = photo_ids.view(b, 1).expand(b, c).T  # (C, B)
        self.peak_values, order = _merge(self.peak_values, peaks.T)
        self.peak_photos = torch.cat([self.peak_photos, ids], dim=1).gather(1, order)
        merged_positions = torch.cat([self.peak_positions, positions.transpose(0, 1)], dim=1)
        self.peak_positions = merged_positions.gather(1, order[..., None].expand(-1, -1, 2))
        self.mean_values, order = _merge(self.mean_values, means.T)
        self.mean_photos = torch.cat([self.mean_photos, ids], dim=1).gather(1, order)
        batch_sum = means.double().sum(dim=0)
        self.sum_of_means += batch_sum
        self.max_peak = torch.maximum(self.max_peak, peaks.max(dim=0).values)
        self.photos += b
        return batch_sum

    def merge(self, later: "LayerExemplars", batch_sums: Sequence[torch.Tensor]) -> None:
        """Folds in the result of later photos (all of higher index than these), whose batches'
        sums of means were ``batch_sums``: the same, to the bit, as updating with their batches."""
        self.peak_values, order = _merge(self.peak_values, later.peak_values)
        self.peak_photos = torch.cat([self.peak_photos, later.peak_photos], dim=1).gather(1, order)
        merged_positions = torch.cat([self.peak_positions, later.peak_positions], dim=1)
        self.peak_positions = merged_positions.gather(1, order[..., None].expand(-1, -1, 2))
        self.mean_values, order = _merge(self.mean_values, later.mean_values)
        self.mean_photos = torch.cat([self.mean_photos, later.mean_photos], dim=1).gather(1, order)
        for batch_sum in batch_sums:  # one batch at a time, as one pass adds them
            self.sum_of_means += batch_sum
        self.max_peak = torch.maximum(self.max_peak, later.max_peak)
        self.photos += later.photos
        self.map_size = later.map_size or self.map_size

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict) -> "LayerExemplars":
        """A layer's result as written by ``arrays`` (with its file's settings)."""
        photos = int(meta["photos_read"])
        t = {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}
        return cls(t["peak_values"], t["peak_photos"], t["peak_positions"], t["mean_values"], t["mean_photos"],
                   t["running_mean"].double() * photos, t["max_peak"], photos,
                   tuple(meta["map_size"]) if meta["map_size"] else None)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"peak_values": self.peak_values.numpy(), "peak_photos": self.peak_photos.numpy(),
                "peak_positions": self.peak_positions.numpy(), "mean_values": self.mean_values.numpy(),
                "mean_photos": self.mean_photos.numpy(), "running_mean": self.running_mean.numpy(),
                "max_peak": self.max_peak.numpy()}


def _merge(kept: torch.Tensor, new: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The best k of kept (C, k) and new (C, B) values, best first, and where each came from
    in their concatenation. The sort is stable: on ties, the earlier photo stays first."""
    k = kept.shape[1]
    values, order = torch.cat([kept, new], dim=1).sort(dim=1, descending=True, stable=True)
    return values[:, :k].contiguous(), order[:, :k]


@saved_kind
@dataclass
class ExemplarSet:
    """Named ``LayerExemplars`` (a layer's, or a layer's after its activation function) as one
    photo pass keeps them, with each batch's sums of means, so that sets of consecutive photos
    merge exactly."""

    results: dict[str, LayerExemplars]
    batch_sums: dict[str, list[torch.Tensor]] = field(default_factory=dict)

    @classmethod
    def empty(cls, channels: dict[str, int], k: int) -> "ExemplarSet":
        """Empty results of ``k`` photos for each name, with its number of channels."""
        return cls({name: LayerExemplars.empty(c, k) for name, c in channels.items()}, {name: [] for name in channels})

    def update(self, name: str, photo_ids: torch.Tensor, acts: torch.Tensor) -> None:
        """``LayerExemplars.update`` of result ``name``."""
        self.batch_sums[name].append(self.results[name].update(photo_ids, acts))

    def add(self, model: VisionModel, seen: BatchSeen) -> None:
        """Updates each result with the layer of its name (a photo pass's part)."""
        for name in self.results:
            self.update(name, seen.indices, seen.acts[name])

    def merge(self, later: "ExemplarSet") -> None:
        """Folds in the set of later photos."""
        for name, result in self.results.items():
            result.merge(later.results[name], later.batch_sums[name])
