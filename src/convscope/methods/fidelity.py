"""Fidelity: how a unit's picture compares with what real photos make the unit do."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import torch

from convscope.data.photo_sources import PhotoFolder, PhotosLike, as_source
from convscope.data.photo_stats import photo_statistics
from convscope.engine.recipes import get_recipe
from convscope.io.notebook import table_html
from convscope.io.picture import Picture
from convscope.methods.specs import StatsSpec
from convscope.methods.trust.assess import (
    TrustMeter,
    TrustSettings,
    UnitTrust,
    check_photo_count,
    measure_trust,
    picture_seeds,
    trials_for,
    trust_impossible,
)
from convscope.methods.trust.controls import starting_noise
from convscope.methods.trust.judge import load_judge
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
from convscope.runtime.progress import Progress


def photo_maxima(model: VisionModel, layer: str, photos: PhotosLike = None,
                 peak: bool = False) -> torch.Tensor:
    """(channels,): the highest mean activation (or peak, with ``peak``) each channel reaches
    on any of the photos (a folder's ``PhotoSource``, a list, or None for the built-in set)."""
    return photo_statistics(model, [layer], photos)[model.layer(layer).name].best(peak)


def fidelity(picture_activation: float | None, photo_max: float) -> float | None:
    """The picture's activation over the best photo's; None when the photos never excite it
    (or there is no activation to compare)."""
    if picture_activation is None or photo_max <= 0:
        return None
    return picture_activation / photo_max


def unit_values(model: VisionModel, layer: str, units: Sequence[int], images: torch.Tensor,
                after: Callable[[torch.Tensor], torch.Tensor] | None = None) -> list[float]:
    """Slot i's value of unit ``units[i]`` on ``images[i]`` (B, 3, H, W), as its picture
    objective reads it (the channel mean, or the centre neuron of the first convolution),
    optionally after ``after``."""
    centre = model.is_first_conv(layer)
    with torch.no_grad(), Probe(model, [layer]) as probe:
        a = probe(images.to(model.device))[layer]
    a = after(a) if after is not None else a
    picked = a[torch.arange(len(units)), torch.as_tensor(list(units), device=a.device)]
    if picked.dim() == 1:
        return picked.tolist()
    if centre:
        h, w = picked.shape[-2:]
        return picked[:, h // 2, w // 2].tolist()
    return picked.flatten(1).mean(dim=1).tolist()


def median_of(values: Iterable[float | None]) -> float | None:
    """The median of the known values (the upper one of an even count); None when none is known."""
    known = sorted(v for v in values if v is not None)
    return known[len(known) // 2] if known else None


@dataclass
class UnitFidelity:
    """A layer's units rendered and compared with real photos (see ``measure_units``); with
    trust measured, ``trust`` holds each unit's measures and ``pictures`` its pictures (one
    list per unit, picture 0 first)."""

    layer: str
    rows: list[dict]
    settings: dict
    trust: list[UnitTrust] = field(default_factory=list)
    pictures: list[list[Picture]] = field(default_factory=list)

    def _repr_html_(self) -> str:
        return table_html(f"{self.layer}: picture activation over the best photo's (median ratio "
                          f"{self.median_ratio})", [{k: v for k, v in r.items() if k != "trust"} for r in self.rows])

    @property
    def median_ratio(self) -> float | None:
        """The median of the units' ratios (None when no unit has one)."""
        return median_of(r["ratio"] for r in self.rows)


def _offset(progress: Progress | None, done: int, total: int) -> Progress | None:
    """``progress`` for one render of several: its unit-steps counted after ``done``, of ``total``."""
    if progress is None:
        return None
    return lambda steps, _all: progress(done + steps, total)


def measure_units(model: VisionModel, layer: str, photos: PhotosLike, spec: StatsSpec, *,
                  progress: Progress | None = None, trust: TrustSettings | None = None) -> UnitFidelity:
    """Renders the spec's units of ``layer`` and divides each picture's activation by the best the
    unit reaches on ``photos`` (the channel mean; for the first convolution, whose pictures
    maximize the centre neuron, the peak). For a layer read before the network's own
    activation function (efficientnet-lite's stem and head, before ReLU6), the same ratio is
    also given after that function: what the next layer receives.

    With ``trust``, each unit also gets its path score (None for the first layer, which has no
    earlier layers) and the machine's two-alternative choice scores (see
    ``convscope.methods.trust``), from ``trust.references`` pictures (seeds from
    ``picture_seeds``; picture 0 is the one the ratio is of).

    Args:
        model: the network.
        layer: the layer's name.
        photos: the photos (see ``PhotosLike``).
        spec: the units, the pictures' recipe, seed and batch (units optimized together).
        progress: called with (unit-steps done, unit-steps in all).
        trust: how to measure trust, or None for the ratio alone.
    Returns:
        One row of numbers per unit, the settings, and with ``trust`` the measures and pictures.
    Raises:
        OutOfRangeError: a unit out of range; with ``trust``, too few photos for the trials.
    """
    from convscope.engine.batch import as_seen
    from convscope.engine.render import render_units

    units, seed, batch = spec.units_of(model, layer), spec.seed, spec.batch
    info = model.layer(layer)
    rec = get_recipe(spec.recipe)
    for u in units:
        model.check_channel(layer, u)
    first = model.is_first_conv(info.name)
    source = as_source(photos)
    if trust is not None:
        check_photo_count(len(source), trust)
    tops, lows = (trust.top_photos, trust.low_photos) if trust is not None else (1, 0)
    stats = photo_statistics(model, [info.name], source, top=tops, low=lows)[info.name]
    meter = TrustMeter(model, info.name, source, stats, trust, seed) if trust is not None else None
    seeds = picture_seeds(seed, trust.references) if trust is not None else [seed]
    total = len(seeds) * len(units) * rec.steps
    results = [render_units(model, layer, units, rec, seed=s, batch=batch,
                            progress=_offset(progress, k * len(units) * rec.steps, total))
               for k, s in enumerate(seeds)]
    result = results[0]
    best = stats.best(peak=first)
    rows = [{"unit": u, "activation": act, "photo_max": float(best[u]), "best_photo": stats.best_photo(u, peak=first),
             "ratio": fidelity(act, float(best[u]))} for u, act in zip(units, result.final.tolist())]
    if info.after is not None:
        best_after = stats.best(peak=first, after=True)
        pictures = unit_values(model, layer, units, as_seen(rec, model, result.images), info.after.fn)
        for row, u, value in zip(rows, units, pictures):
            top = float(best_after[u])
            row.update({"activation_after": value, "photo_max_after": top, "ratio_after": fidelity(value, top)})
    settings = {"model": model.name, "layer": info.name, "recipe": rec.as_dict(), "seed": seed,
                "precision": model.effective_precision, "photos": len(source) - len(source.skipped),
                "objective": "the centre neuron" if first else "the channel mean",
                "read": f"before its {info.after.name}" if info.after is not None else "as the network outputs it",
                "after": info.after.name if info.after is not None else None}
    if meter is None or trust is None:
        return UnitFidelity(info.name, rows, settings)
    saved = [as_seen(rec, model, torch.stack([p.to_tensor() for p in r.pictures])) for r in results]
    per_unit = [torch.stack([pictures[i] for pictures in saved]) for i in range(len(units))]
    noise = [starting_noise(rec, model, [s + u for s in seeds]) for u in units]  # render_units: unit u starts at seed + u
    measured = measure_trust(meter, units, per_unit, noise)  # the pictures as saved, as the atlas has them
    for row, unit_trust in zip(rows, measured):
        row.update({"path_score": unit_trust.path_score, "choice_pictures": unit_trust.choice_pictures.score,
                    "choice_photos": unit_trust.choice_photos.score, "verdict": unit_trust.verdict.verdict,
                    "trust": unit_trust.as_dict()})
    pictures_per_unit = [[r.pictures[i] for r in results] for i in range(len(units))]
    return UnitFidelity(info.name, rows, {**settings, "trust": meter.settings_dict()}, measured, pictures_per_unit)




def unit_stats(model: VisionModel, layer: str, photos: PhotosLike, spec: StatsSpec,
               progress: Progress | None = None) -> UnitFidelity:
    """Each unit's fidelity and, over a photo folder with enough photos, its trust measures
    (else ``settings["trust"]`` says why not).

    Args:
        model: the network.
        layer: the layer.
        photos: a folder, a list of photos, or None for the built-in photos.
        spec: the options.
        progress: called with (unit-steps done, unit-steps in all).
    Returns:
        One row per unit; the median ratio.
    """
    source = as_source(photos)
    settings = None
    why_not: str | None = "it needs a photo folder"
    if isinstance(source, PhotoFolder):
        settings = TrustSettings(load_judge(spec.judge, model), trials_for(spec.trials, len(source), spec.references),
                                 spec.references, spec.false_positive)
        why_not = trust_impossible(len(source), settings)
    result = measure_units(model, layer, source, spec, progress=progress,
                           trust=settings if why_not is None else None)
    if why_not is not None:
        result.settings["trust"] = f"not measured: {why_not}"
    return result
