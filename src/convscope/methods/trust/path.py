"""Path similarity (Geirhos et al., ICML 2024): does a unit's picture travel through the
earlier layers the way the photos that excite the unit do?

At every main layer before the unit's own, each image is summed up by its vector of channel
means (after the layer's activation function: what the next layer receives). Two images are
compared by the Spearman rank correlation of their vectors. Three levels per layer:

- picture: the unit's pictures against its top photos;
- natural: each top photo against the other top photos;
- chance: random photos of the same folder against the top photos.

Each level is measured against the same centroids: for every top photo, that of the other top
photos. The path score of a layer places the picture between chance (0) and natural (1). It is
not bounded by 1: an image that sits nearer the top photos' centroid than a single top photo
does (an image more uniform than any photo, such as noise whose channel means all move one way
from the folder's, at a layer where the top photos barely differ from random ones) scores above
1. So every score comes with a 95% bootstrap interval over the top photos, and a score is only
read as above another where the intervals say so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from convscope.errors import OutOfRangeError
from convscope.models.base import VisionModel
from convscope.models.probe import Probe

PATH_PHOTOS = 8  # top photos, and random photos, per unit
LEVEL_GAP = 0.1  # natural - chance below this: the photos do not tell the top photos from random ones there
BOOTSTRAP_DRAWS = 1000  # resamples of the top photos behind each interval


def path_layers(model: VisionModel, layer: str) -> list[str]:
    """The main layers before ``layer``, in order.

    Raises:
        OutOfRangeError: ``layer`` is the first main layer (nothing to compare).
    """
    earlier = model.earlier_main_layers(layer)
    if not earlier:
        later = [n for n in model.main_layers if n != model.layer(layer).name]
        hint = f": pick a later layer such as {later[0]}" if later else ""
        raise OutOfRangeError(f"{model.layer(layer).name} is the first layer of {model.name}, so no earlier layer can "
                              f"show the path of its pictures{hint}", options=["layer"])
    return earlier


def channel_means(model: VisionModel, layers: Sequence[str], images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per layer, (N, C) channel means of ``images`` (N, 3, H, W) in [0, 1], after each
    layer's activation function."""
    with torch.no_grad(), Probe(model, list(layers)) as probe:
        acts = probe(images.to(model.device))
    means = {}
    for name in layers:
        a = model.layer(name).as_used(acts[name]).float()
        means[name] = (a.flatten(2).mean(dim=2) if a.dim() > 2 else a).cpu()
    return means


def ranks(values: np.ndarray) -> np.ndarray:
    """Each row's ranks (1 = smallest), tied values sharing their mean rank."""
    out = np.empty(values.shape, dtype=np.float64)
    for row, v in enumerate(values):
        order = np.argsort(v, kind="stable")
        sorted_v = v[order]
        starts = np.flatnonzero(np.r_[True, sorted_v[1:] != sorted_v[:-1]])
        ends = np.r_[starts[1:], len(v)]
        mean_rank = (starts + ends + 1) / 2.0  # ranks start..end-1, counted from 1
        out[row, order] = np.repeat(mean_rank, ends - starts)
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) Spearman correlations of the rows of ``a`` (N, D) with those of ``b`` (M, D); a
    constant row correlates 0 with everything."""
    ra, rb = ranks(np.atleast_2d(a)), ranks(np.atleast_2d(b))
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    na, nb = np.linalg.norm(ra, axis=1), np.linalg.norm(rb, axis=1)
    na[na == 0], nb[nb == 0] = np.inf, np.inf
    return (ra / na[:, None]) @ (rb / nb[:, None]).T


@dataclass
class PathCurve:
    """A unit's path, one value per earlier layer: the three levels and the score, and the 95%
    bootstrap intervals of the layers' scores and of the pooled score (``mean_score``)."""

    layers: list[str]
    picture: list[float]
    natural: list[float]
    chance: list[float]
    score: list[float | None]
    score_interval: list[tuple[float, float] | None]
    interval: tuple[float, float] | None

    @property
    def mean_score(self) -> float | None:
        """The score over the layers that can place the picture: (picture - chance) / (natural -
        chance), each level averaged over those layers (None when there is none). Unlike a
        mean of the layers' ratios it is not dominated by a layer whose levels nearly meet;
        a layer whose natural level is less than LEVEL_GAP above chance is left out, since
        there the photos do not tell the unit's top photos from random ones."""
        known = [i for i, s in enumerate(self.score) if s is not None]
        if not known:
            return None
        picture, natural, chance = (float(np.mean([level[i] for i in known]))
                                    for level in (self.picture, self.natural, self.chance))
        return (picture - chance) / (natural - chance)

    def as_dict(self) -> dict:
        return {"layers": self.layers, "picture": self.picture, "natural": self.natural, "chance": self.chance,
                "score": self.score, "score_interval": [list(i) if i else None for i in self.score_interval],
                "mean_score": self.mean_score, "interval": list(self.interval) if self.interval else None}


def _placed(picture: np.ndarray, natural: np.ndarray, chance: np.ndarray) -> np.ndarray:
    """(picture - chance) / (natural - chance), NaN where natural is not above chance."""
    gap = natural - chance
    return np.where(gap > 0, (picture - chance) / np.where(gap > 0, gap, 1.0), np.nan)


def _interval(draws: np.ndarray) -> tuple[float, float] | None:
    """The 2.5th and 97.5th percentiles of the bootstrap draws (None when most are undefined)."""
    known = draws[~np.isnan(draws)]
    if len(known) < len(draws) / 2:
        return None
    low, high = np.percentile(known, [2.5, 97.5])
    return float(low), float(high)


def path_curve(pictures: dict[str, torch.Tensor], top: dict[str, torch.Tensor], random: dict[str, torch.Tensor],
               folder: dict[str, torch.Tensor]) -> PathCurve:
    """The three levels and the score per layer, from channel means (see ``channel_means``), with
    their bootstrap intervals.

    Each vector is taken as its difference from the folder's mean vector (so that what every
    photo shares does not count as agreement). For each top photo, the centroid of the other top
    photos' differences is compared with that photo (natural), with each picture (picture) and
    with each random photo (chance); a level is the mean over the top photos. The intervals
    resample the top photos (BOOTSTRAP_DRAWS times, a fixed seed).

    Args:
        pictures: per layer, (P, C) means of the unit's pictures.
        top: per layer, (T, C) means of its top photos (T >= 2).
        random: per layer, (R, C) means of random photos of the folder.
        folder: per layer, (C,) the mean over the folder's photos.
    Returns:
        The curve; a layer's score is None when its natural level is not LEVEL_GAP above chance.
    """
    per_photo: dict[str, list[np.ndarray]] = {"picture": [], "natural": [], "chance": []}
    for name in pictures:
        centre = folder[name].double().numpy()
        t = top[name].double().numpy() - centre
        others = (t.sum(axis=0, keepdims=True) - t) / (len(t) - 1)  # row i: the centroid of the other top photos
        per_photo["natural"].append(np.array([spearman(t[i:i + 1], others[i:i + 1])[0, 0] for i in range(len(t))]))
        per_photo["picture"].append(spearman(pictures[name].double().numpy() - centre, others).mean(axis=0))
        per_photo["chance"].append(spearman(random[name].double().numpy() - centre, others).mean(axis=0))
    levels = {k: np.stack(v) for k, v in per_photo.items()}  # (layers, top photos)
    picture, natural, chance = (levels[k].mean(axis=1) for k in ("picture", "natural", "chance"))
    known = natural - chance > LEVEL_GAP
    draws = np.random.default_rng(0).integers(0, levels["natural"].shape[1],
                                              (BOOTSTRAP_DRAWS, levels["natural"].shape[1]))
    resampled = {k: v[:, draws].mean(axis=2) for k, v in levels.items()}  # (layers, draws)
    by_layer = _placed(resampled["picture"], resampled["natural"], resampled["chance"])
    pooled = _placed(*(resampled[k][known].mean(axis=0) for k in ("picture", "natural", "chance"))) \
        if known.any() else None
    return PathCurve(list(pictures), picture.tolist(), natural.tolist(), chance.tolist(),
                     [float(p) if k else None for p, k in zip(_placed(picture, natural, chance), known)],
                     [_interval(d) if k else None for d, k in zip(by_layer, known)],
                     _interval(pooled) if pooled is not None else None)
