"""The article's pictures through the render loop: one filter, and a layer's grid of the best."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from convscope.engine.halving import Halving
from convscope.engine.objectives import Objective, unit_number, unit_objective
from convscope.engine.recipe_settings import DEFAULT_RECIPE
from convscope.engine.recipes import Recipe, get_recipe
from convscope.engine.render import render, render_units
from convscope.errors import OutOfRangeError
from convscope.io.picture import Picture, stitch
from convscope.methods.fidelity import fidelity, photo_maxima
from convscope.methods.kernels import kernel_pictures
from convscope.methods.specs import SELECT_RULES, FilterSpec, GridSpec
from convscope.models import VisionModel, as_model
from convscope.runtime.progress import Progress, shows_progress
from convscope.runtime.spec import takes

ACTIVATION_NOTE = ("activation: the objective on the optimized image; picture_activation: on the saved "
                   "picture (8-bit, in the recipe's display)")


def show(model: VisionModel | str, objective: Objective | str, *, recipe: str | Recipe = DEFAULT_RECIPE,
         seed: int = 0, progress: Progress | None = None, **options: object) -> Picture:
    """One picture of any objective, in one line.

    Args:
        model: a VisionModel or a model's name.
        objective: an Objective or its text ("block8:12", "logits:18 - 0.5*block8:3").
        recipe: a Recipe or a recipe's name.
        seed: the seed of the noise and the transforms.
        progress: called with (unit-steps done, unit-steps in all).
        options: recipe options to override (``steps=``, ``size=``, ...).
    Returns:
        The picture; it shows itself in Jupyter, and ``info`` holds the numbers.
    """
    model = as_model(model)
    rec = get_recipe(recipe, **options)
    result = render(model, objective, rec, seeds=[seed], transform_seed=seed, progress=progress)
    picture = result.pictures[0]
    picture.info = {"model": model.name, "objective": str(objective), "activation": float(result.final[0]),
                    "picture_activation": float(result.picture_final[0]), "recipe": rec.as_dict(), "seed": seed}
    return picture


@shows_progress("filter", "step")
@takes(FilterSpec)
def visualize_filter(model: VisionModel | str, layer: str, unit: int | str, *, progress: Progress | None = None,
                     spec: FilterSpec | None = None, **options: Any) -> Picture:
    """The picture that maximizes one filter (channel) of a layer; for the first convolution
    its centre neuron, since a flat colour maximizes its channel mean.

    Args:
        model: a VisionModel or a model's name.
        layer: the layer's name.
        unit: the channel, an int or a numeric string.
        progress: called with (unit-steps done, unit-steps in all).
        spec: the options as a ``FilterSpec`` (keyword options override its values).
        options: any option of ``FilterSpec``, by name (listed below); ``thresholds`` are the
            steps after which the picture is also kept (``picture.snapshots``).
    Returns:
        The picture; ``info`` holds the activation reached and the settings, ``snapshots`` the
        pictures after ``thresholds``, and for the first convolution ``extras["kernel"]``.
    Raises:
        UnknownNameError: an unknown layer.
        OutOfRangeError: a channel out of the layer's range, or an option out of range.
    """
    spec = FilterSpec.of(spec, **options)
    model = as_model(model)
    unit = unit_number(unit)
    rec, seed = spec.resolved, spec.seed
    objective = unit_objective(model, layer, unit)
    result = render_units(model, layer, [unit], rec, seed=seed, thresholds=spec.thresholds, progress=progress)
    picture = result.pictures[0]
    picture.info = {"model": model.name, "layer": model.layer(layer).name, "channel": unit,
                    "objective": str(objective), "activation": float(result.final[0]),
                    "picture_activation": float(result.picture_final[0]), "start": float(result.history[0, 0]),
                    "activations": ACTIVATION_NOTE, "recipe": rec.as_dict(), "seed": seed,
                    "precision": model.effective_precision}
    picture.snapshots = {step: pics[0] for step, pics in result.snapshots.items()}
    if model.is_first_conv(layer):
        picture.extras["kernel"] = kernel_pictures(model, min(picture.size))[unit]
    return picture


@dataclass
class Grid:
    """A layer's sheet of its strongest filters, and each tile's numbers in tile order; for the
    first convolution also ``kernels``, the same tiles' kernels enlarged."""

    sheet: Picture
    tiles: list[dict]
    dropped: list[dict]
    settings: dict = field(default_factory=dict)
    kernels: Picture | None = None

    def sidecar(self) -> dict:
        return {**self.settings, "tiles": self.tiles, "dropped": self.dropped}

    def _repr_png_(self) -> bytes:
        return self.sheet._repr_png_()




@shows_progress("grid", "unit-step")
@takes(GridSpec)
def filter_grid(model: VisionModel | str, layer: str, *, progress: Progress | None = None,
                spec: GridSpec | None = None, **options: Any) -> Grid:
    """The article's grid: renders the first ``candidates`` filters, drops those whose
    activation ends at or below 0, and keeps the best ``top``, best first, on a square sheet.

    With ``select="halving"`` the filters far behind are dropped at a few cuts (see
    ``Halving``) and only the others run to the end; a kept filter's picture is the one a
    full run gives (each filter is optimized alone in its slot). ``select="auto"`` halves
    where that was measured to keep at least 95% of a full run's tiles at the same median
    activation (the recipe's ``uses.halving_from``): the lucid recipe at 128 steps or more;
    with the keras2016 recipe's 20 steps it kept 80% at efficientnet-lite0's head, so auto
    renders keras2016, maco and recipes of one's own in full.

    Args:
        model: a VisionModel or a model's name.
        layer: the layer's name.
        progress: called with (unit-steps done, unit-steps in all).
        spec: the options as a ``GridSpec`` (keyword options override its values).
        options: any option of ``GridSpec``, by name (listed below); ``select`` is "auto"
            (halving where it was measured to hold, see above), "halving" (drop the filters far
            behind early, with ``Halving(top)``), a ``Halving`` of one's own (other cuts, more
            kept), or "full" (render every candidate to the end).
    Returns:
        The sheet, each tile's numbers (activation, the best photo's, their ratio), the
        filters dropped (at which step, with their activation then), and for the first
        convolution the kernels.
    Raises:
        OutOfRangeError: an option out of range, or every filter at or below 0.
    """
    spec = GridSpec.of(spec, **options)
    model = as_model(model)
    info = model.layer(layer)
    rec, seed, top, candidates, batch = spec.resolved, spec.seed, spec.top, spec.candidates, spec.batch
    units = list(range(min(candidates, info.channels)))
    first = model.is_first_conv(info.name)
    halving = selection_rule(spec.select, top, len(units), rec)
    result = render_units(model, layer, units, rec, seed=seed, batch=batch, progress=progress, select=halving)
    maxima = photo_maxima(model, layer, spec.photos, peak=first)
    rows = []
    for slot, act, shown, pic in zip(result.slots, result.final.tolist(), result.picture_final.tolist(), result.pictures):
        u = units[slot]
        rows.append(({"channel": u, "activation": act, "picture_activation": shown, "photo_max": float(maxima[u]),
                      "ratio": fidelity(act, float(maxima[u])), "importance": pic.importance_summary()}, pic))
    alive = sorted((r for r in rows if r[0]["activation"] > 0), key=lambda r: -r[0]["activation"])
    kept = alive[:top]
    if not kept:
        raise OutOfRangeError(f"every filter of {info.name} ended at or below 0: try more {{steps}}", options=["steps"])
    dropped = [{"channel": units[drop["index"]], "step": drop["step"], "activation": drop["activation"],
                "reason": "behind"} for drop in result.dropped]
    dropped += [{**r[0], "step": rec.steps, "reason": "dead"} for r in rows if r[0]["activation"] <= 0]
    sheet = stitch([pic for _row, pic in kept])
    settings = {"model": model.name, "layer": info.name, "candidates": len(units), "top": top,
                "select": "full" if halving is None else halving.describe(rec.steps),
                "objective": "the centre neuron (first convolution)" if first else "the channel mean",
                "photo_max": "the best photo's peak" if first else "the best photo's mean",
                "activations": ACTIVATION_NOTE, "seed": seed, "recipe": rec.as_dict(),
                "precision": model.effective_precision}
    kernels = None
    if first:
        all_kernels = kernel_pictures(model, min(sheet.size[0], kept[0][1].size[0]))
        kernels = stitch([all_kernels[row["channel"]] for row, _pic in kept])
    return Grid(sheet, [row for row, _pic in kept], dropped, settings, kernels)


def selection_rule(select: str | Halving, top: int, candidates: int, recipe: Recipe) -> Halving | None:
    """The ``Halving`` of a job that keeps the best ``top`` of ``candidates`` units rendered
    with ``recipe`` (``select`` itself if it is one), or None to render them all
    (``select="full"``; "auto" with a recipe whose ``uses.halving_from`` is None; or too few
    candidates for any cut to drop one).

    Raises:
        OutOfRangeError: an unknown ``select``.
    """
    if not isinstance(select, Halving) and select not in SELECT_RULES:
        raise OutOfRangeError(f"unknown selection {select!r}: use {', '.join(SELECT_RULES)} ({{select}})",
                              options=["select"])
    if select == "auto":
        measured_from = recipe.uses.halving_from
        select = "halving" if measured_from is not None and recipe.steps >= measured_from else "full"
    halving = select if isinstance(select, Halving) else Halving(top) if select == "halving" else None
    return halving if halving is not None and halving.worthwhile(candidates, recipe.steps) else None
