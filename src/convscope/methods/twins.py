"""Rotated twins: units of a layer that respond to the same pattern turned by an angle.

The functional score of units (i, j) at angle t: rotate the photos by t, and correlate
unit j's activation maps on the rotated photos with unit i's maps on the originals,
rotated by t (over every position and photo; for angles other than multiples of 90
degrees, over the positions that stay inside the rotated photo). If j is i turned by t,
then i is j turned by -t, so a pair's score is the mean of both directions: symmetric
by construction. The pictures give a second view for the strongest pairs: the pixel
correlation of i's picture turned by t with j's picture, and how strongly j responds to
i's turned picture relative to its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from convscope.data.atlas_folder import atlas_pictures
from convscope.data.photo_pass import BatchSeen, run_pass
from convscope.data.photo_sources import PHOTO_BATCH, PhotosLike, as_source
from convscope.engine.recipes import Recipe
from convscope.engine.render import render_units
from convscope.engine.transforms import rotate
from convscope.errors import OutOfRangeError
from convscope.io.notebook import picture_html, table_html
from convscope.io.picture import Picture, labelled
from convscope.methods.specs import DEFAULT_ANGLES, check_threshold
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
from convscope.runtime.progress import Progress

CONSTANT = 1e-5  # a unit whose standard deviation is below this (relative to its mean) is constant


@dataclass
class TwinPair:
    unit: int
    twin: int
    angle: float  # the twin is the unit turned counter-clockwise by this angle
    score: float  # functional: rotation-matched correlation of activation maps
    unrotated: float  # the same correlation without rotating: a high value means a plain look-alike
    picture_correlation: float | None = None
    picture_response: float | None = None  # twin's activation on the unit's turned picture / on its own


@dataclass
class TwinReport:
    layer: str
    units: int
    angles: list[float]
    threshold: float
    pairs: list[TwinPair]
    with_twin_by_angle: dict[str, int]  # by undirected angle: "90" counts twins at 90 and at 270
    with_twin: int
    sheet: Picture | None = None
    settings: dict = field(default_factory=dict)

    def _repr_html_(self) -> str:
        top = [{"unit": p.unit, "twin": p.twin, "angle": p.angle, "score": p.score} for p in self.pairs[:8]]
        parts = [table_html(f"{self.layer}: {self.with_twin} of {self.units} units have a rotated twin", top)]
        if self.sheet is not None:
            parts.append(picture_html(self.sheet))
        return "".join(parts)

    def summary(self) -> dict:
        """The layer's counts: units, pairs, units with a twin, by angle."""
        return {"layer": self.layer, "units": self.units, "pairs": len(self.pairs),
                "with_twin": self.with_twin, "fraction": self.with_twin / self.units,
                "by_angle": {a: {"units": n, "fraction": n / self.units} for a, n in self.with_twin_by_angle.items()}}


def turn(x: torch.Tensor, angle: float) -> torch.Tensor:
    """Turns (N, C, H, W) counter-clockwise; exact for multiples of 90 degrees on squares."""
    if angle % 90 == 0 and x.shape[-1] == x.shape[-2]:
        return torch.rot90(x, k=int(angle // 90) % 4, dims=(-2, -1))
    return rotate(x, angle, fill=0.0)


def inside_mask(h: int, w: int, angle: float) -> torch.Tensor:
    """(h, w) booleans: positions that stay inside the image when turned by ``angle``."""
    if angle % 90 == 0 and h == w:
        return torch.ones(h, w, dtype=torch.bool)
    ones = torch.ones(1, 1, h, w)
    inner = rotate(rotate(ones, angle, 0.0), -angle, 0.0)  # shrinks by the lost corners, both ways
    return (rotate(ones, angle, 0.0)[0, 0] > 0.999) & (inner[0, 0] > 0.999)


class CorrelationSums:
    """Running sums of two (C, N) tensors, batch by batch, for their (C, C) correlations over
    every column seen (in float64, so a million positions add up exactly enough)."""

    def __init__(self, channels: int) -> None:
        self.n = 0
        self.sx, self.sy, self.sxx, self.syy = (torch.zeros(channels, dtype=torch.float64) for _ in range(4))
        self.sxy = torch.zeros(channels, channels, dtype=torch.float64)

    def add(self, x: torch.Tensor, y: torch.Tensor) -> None:
        x, y = x.double().cpu(), y.double().cpu()
        self.n += x.shape[1]
        self.sx += x.sum(dim=1)
        self.sy += y.sum(dim=1)
        self.sxx += x.pow(2).sum(dim=1)
        self.syy += y.pow(2).sum(dim=1)
        self.sxy += x @ y.T

    def merge(self, later: "CorrelationSums") -> None:
        """Adds the sums of more columns."""
        self.n += later.n
        for name in ("sx", "sy", "sxx", "syy", "sxy"):
            getattr(self, name).add_(getattr(later, name))

    def correlation(self) -> torch.Tensor:
        """(C, C) float32: entry (i, j) correlates row i of x with row j of y; 0 for a row that
        is constant up to float32 rounding (a dead unit), whose correlation would be noise."""
        mx, my = self.sx / self.n, self.sy / self.n
        sdx = (self.sxx / self.n - mx.pow(2)).clamp_min(0).sqrt()
        sdy = (self.syy / self.n - my.pow(2)).clamp_min(0).sqrt()
        live_x, live_y = sdx > CONSTANT * (1 + mx.abs()), sdy > CONSTANT * (1 + my.abs())
        corr = (self.sxy / self.n - mx[:, None] * my[None, :]) / (sdx[:, None] * sdy[None, :]).clamp_min(1e-30)
        return torch.where(live_x[:, None] & live_y[None, :], corr, torch.zeros_like(corr)).float()


def add_angle(sums: CorrelationSums, layer: str, images: torch.Tensor, original: torch.Tensor, angle: float,
              probe: Probe) -> None:
    """Adds a batch to the correlations at ``angle``: (i, j) correlates j's maps on the turned
    photos with i's turned maps (``original``: the maps of the unturned photos)."""
    turned_input = probe(turn(images, angle))[layer] if angle else original
    maps_i = turn(original, angle) if angle else original
    h, w = original.shape[-2:]
    mask = inside_mask(h, w, angle) if angle else torch.ones(h, w, dtype=torch.bool)
    c = original.shape[1]
    sums.add(maps_i[..., mask].permute(1, 0, 2).reshape(c, -1), turned_input[..., mask].permute(1, 0, 2).reshape(c, -1))


@dataclass
class TwinSums:
    """The twins pass's part: the correlation sums of ``layer`` at each angle of ``angles``."""

    layer: str
    sums: dict[float, CorrelationSums]

    def add(self, model: VisionModel, seen: BatchSeen) -> None:
        original = seen.acts[self.layer]
        for angle, sums in self.sums.items():
            add_angle(sums, self.layer, seen.images, original, angle, seen.probe)

    def merge(self, later: "TwinSums") -> None:
        for angle, sums in self.sums.items():
            sums.merge(later.sums[angle])


@dataclass(frozen=True)
class TwinsPass:
    """The photo pass of ``find_twins``: the photos' maps of ``layer`` (``channels`` units)
    correlated with those of the photos turned by each of ``angles``."""

    layer: str
    channels: int
    angles: tuple[float, ...]

    @property
    def layers(self) -> list[str]:
        return [self.layer]

    def empty(self) -> TwinSums:
        return TwinSums(self.layer, {a: CorrelationSums(self.channels) for a in self.angles})


def _standardize(x: torch.Tensor) -> torch.Tensor:
    """(C, N) rows to mean 0 and norm sqrt(N) (so that x @ y.T / N is a correlation)."""
    x = x - x.mean(dim=1, keepdim=True)
    return x / (x.pow(2).mean(dim=1, keepdim=True).sqrt() + 1e-8)


def find_twins(model: VisionModel, layer: str, photos: PhotosLike = None, *,
               angles: Sequence[float] = DEFAULT_ANGLES, threshold: float = 0.7, margin: float = 0.1,
               batch: int = PHOTO_BATCH, progress: Progress | None = None) -> TwinReport:
    """Every pair of units whose functional twin score at its best angle reaches ``threshold``
    (a correlation, in [-1, 1]) and beats their unrotated correlation by ``margin``, over
    ``photos`` (a folder's ``PhotoSource`` of any size, streamed in batches; a list; or None
    for the built-in set; read where its runner reads). ``progress`` is called with (photos
    done, photos in all)."""
    check_threshold(threshold)
    info = model.layer(layer)
    if not info.spatial:
        raise OutOfRangeError(f"layer {info.name!r} has no spatial maps to turn: choose a conv layer")
    if info.channels < 2:
        raise OutOfRangeError(f"layer {info.name!r} has one unit: twins need two or more")
    source = as_source(photos)
    if not len(source):
        raise OutOfRangeError("twins need at least one photo")
    angles = [float(a) for a in angles]
    needed = sorted(set(angles) | {(360 - a) % 360 for a in angles} | {0.0})
    state = run_pass(model, source, TwinsPass(info.name, info.channels, tuple(needed)), batch=batch, progress=progress)
    by_angle = {a: s.correlation() for a, s in state.part.sums.items()}
    unrotated = by_angle[0.0]
    # (i, j) at t and (j, i) at -t describe the same relation: average them.
    scores = torch.stack([(by_angle[a] + by_angle[(360 - a) % 360].T) / 2 for a in angles])
    best, best_index = scores.max(dim=0)
    pairs = []
    c = info.channels
    for i in range(c):
        for j in range(i + 1, c):
            s = float(best[i, j])
            base = float((unrotated[i, j] + unrotated[j, i]) / 2)
            if s >= threshold and s >= base + margin:
                pairs.append(TwinPair(i, j, angles[int(best_index[i, j])], s, base))
    pairs.sort(key=lambda p: -p.score)
    counts = {}
    for a in sorted({min(a, 360 - a) for a in angles}):  # 90 and 270 are one relation, seen from each side
        members = {u for p in pairs if min(p.angle, 360 - p.angle) == a for u in (p.unit, p.twin)}
        counts[f"{a:g}"] = len(members)
    with_twin = len({u for p in pairs for u in (p.unit, p.twin)})
    settings = {"model": model.name, "layer": info.name, "photos": len(source) - len(source.skipped), "margin": margin,
                "precision": model.effective_precision}
    return TwinReport(info.name, c, angles, threshold, pairs, counts, with_twin, settings=settings)


def add_picture_view(model: VisionModel, report: TwinReport, picture_of: Callable[[int], Picture],
                     top: int = 8) -> None:
    """Scores the ``top`` pairs by their pictures and puts them on a sheet (unit, twin)."""
    layer = report.layer
    tiles = []
    with torch.no_grad(), Probe(model, [layer]) as probe:
        for pair in report.pairs[:top]:
            a = picture_of(pair.unit).to_tensor()[None].to(model.device)
            b = picture_of(pair.twin).to_tensor()[None].to(model.device)
            turned = turn(a, pair.angle)
            mask = inside_mask(a.shape[-2], a.shape[-1], pair.angle)
            x = turned.mean(dim=1)[0][mask][None]
            y = b.mean(dim=1)[0][mask][None]
            pair.picture_correlation = float(_standardize(x) @ _standardize(y).T / x.shape[1])
            acts = probe(torch.cat([turned, b]))[layer][:, pair.twin].flatten(1).mean(dim=1)
            pair.picture_response = float(acts[0] / acts[1]) if float(acts[1]) > 0 else None
            tiles += [labelled(Picture.from_tensor(a[0].cpu()), f"unit {pair.unit}"),
                      labelled(Picture.from_tensor(b[0].cpu()), f"unit {pair.twin} = {pair.unit} at {pair.angle:g} deg")]
    if tiles:
        report.sheet = _pair_sheet(tiles)


def _pair_sheet(tiles: list[Picture], margin: int = 5) -> Picture:
    """Pairs side by side, one pair per row."""
    h, w = tiles[0].pixels.shape[:2]
    rows = len(tiles) // 2
    sheet = np.zeros((rows * h + (rows - 1) * margin, 2 * w + 3 * margin, 3), dtype=np.uint8)
    for r in range(rows):
        y = r * (h + margin)
        sheet[y:y + h, :w] = tiles[2 * r].pixels
        sheet[y:y + h, w + 3 * margin:] = tiles[2 * r + 1].pixels
    return Picture(sheet)


def twin_pictures(model: VisionModel, report: TwinReport, recipe: Recipe, atlas: str | Path | None, top: int,
                  progress: Progress | None = None) -> Callable[[int], Picture]:
    """The pictures of the units of the ``top`` pairs: from an atlas folder, else rendered now.

    Args:
        model: the network.
        report: the layer's twins.
        recipe: the recipe of pictures rendered now.
        atlas: a finished atlas folder to take the pictures from, or None.
        top: pairs whose units get pictures.
        progress: called with (unit-steps done, unit-steps in all) while rendering.
    Returns:
        A unit's picture, by unit.
    Raises:
        AtlasFolderError: the atlas folder lacks some of the pictures.
    """
    units = sorted({u for p in report.pairs[:top] for u in (p.unit, p.twin)})
    if atlas:
        return atlas_pictures(atlas, report.layer, units).__getitem__
    if not units:
        no_pictures: dict[int, Picture] = {}
        return no_pictures.__getitem__
    result = render_units(model, report.layer, units, recipe, progress=progress)
    return dict(zip(units, result.pictures)).__getitem__


