"""Path similarity (Geirhos et al., ICML 2024): does a unit's picture travel through the
earlier layers the way the photos that excite the unit do?

At every main layer before the unit's own, each image is summed up by its vector of channel
means (after the layer's activation function: what the next layer receives). Two images are
compared by the Spearman rank correlation of their vectors. Three levels per layer:

- picture: the unit's pictures against its top photos;
- natural: each top photo against the other top photos;
- chance: random photos of the same folder against the top photos.

The path score of a layer places the picture between chance (0) and natural (1).
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
    """A unit's path, one value per earlier layer: the three levels and the score."""

    layers: list[str]
    picture: list[float]
    natural: list[float]
    chance: list[float]
    score: list[float | None]

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
                "score": self.score, "mean_score": self.mean_score}


def path_curve(pictures: dict[str, torch.Tensor], top: dict[str, torch.Tensor], random: dict[str, torch.Tensor],
               folder: dict[str, torch.Tensor]) -> PathCurve:
    """The three levels and the score per layer, from channel means (see ``channel_means``).

    Each vector is taken as its difference from the folder's mean vector (so that what every
    photo shares does not count as agreement) and compared with the centroid of the top
    photos' differences: for the natural level, each top photo with the centroid of the
    others.

    Args:
        pictures: per layer, (P, C) means of the unit's pictures.
        top: per layer, (T, C) means of its top photos (T >= 2).
        random: per layer, (R, C) means of random photos of the folder.
        folder: per layer, (C,) the mean over the folder's photos.
    Returns:
        The curve; a layer's score is None when its natural level is not LEVEL_GAP above chance.
    """
    rows: dict[str, list] = {"picture": [], "natural": [], "chance": [], "score": []}
    for name in pictures:
        centre = folder[name].double().numpy()
        t = top[name].double().numpy() - centre
        centroid = t.mean(axis=0, keepdims=True)
        picture = float(spearman(pictures[name].double().numpy() - centre, centroid).mean())
        others = (t.sum(axis=0, keepdims=True) - t) / (len(t) - 1)  # row i: the centroid of the other top photos
        natural = float(np.mean([spearman(t[i:i + 1], others[i:i + 1])[0, 0] for i in range(len(t))]))
        chance = float(spearman(random[name].double().numpy() - centre, centroid).mean())
        gap = natural - chance
        rows["picture"].append(picture)
        rows["natural"].append(natural)
        rows["chance"].append(chance)
        rows["score"].append((picture - chance) / gap if gap > LEVEL_GAP else None)
    return PathCurve(list(pictures), rows["picture"], rows["natural"], rows["chance"], rows["score"])
