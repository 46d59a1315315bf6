"""A photo explained by its units: the "semantic dictionary" of Olah et al. (2018), "The
Building Blocks of Interpretability". For each position of a layer, the units that fire most
there, with their pictures; and the units that contribute most to the top class
(activation x gradient of its logit, summed over positions)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from convscope.data.atlas_folder import atlas_pictures
from convscope.engine.recipes import Recipe
from convscope.engine.render import render_units
from convscope.errors import OutOfRangeError
from convscope.io.notebook import picture_html, table_html
from convscope.io.photo_reading import as_photo
from convscope.io.picture import Picture
from convscope.methods.specs import ExplainSpec
from convscope.models import as_model
from convscope.models.base import LOGITS, VisionModel
from convscope.models.probe import Probe
from convscope.runtime.progress import Progress, shows_progress
from convscope.runtime.spec import takes


@dataclass
class Explanation:
    """The photo as the network saw it, the layer's top units at each position, the units that
    drive the top class, and a picture of every unit named."""

    layer: str
    photo: Picture
    grid: tuple[int, int]  # (h, w) of the layer's map
    positions: list[list[dict]]  # row-major: per position, [{"unit", "activation"}], best first
    top_class: dict  # {"index", "name", "probability"}
    class_units: list[dict]  # [{"unit", "contribution"}], most first
    pictures: dict[int, Picture]
    source: str  # where the pictures come from: "rendered" or the atlas folder

    def _repr_html_(self) -> str:
        units = [{"unit": u["unit"], "contribution": u["contribution"]} for u in self.class_units]
        return (picture_html(self.photo, 224) + table_html(
            f"{self.layer}: the units that drive {self.top_class['name']} "
            f"(p {self.top_class['probability']:.3f})", units))


def _layer_and_gradient(model: VisionModel, layer: str, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The layer's maps (C, H, W), the gradient of the top class's logit by them, and that class."""
    with model.math_mode(), Probe(model, [layer, LOGITS]) as probe:
        acts = probe(image.detach().requires_grad_(True))
        maps, logits = acts[layer], acts[LOGITS]
        top = int(logits[0].argmax())
        (grad,) = torch.autograd.grad(logits[0, top], maps, allow_unused=True)
    if grad is None:  # the layer's maps are a rearranged copy of its output (a token layer)
        kind = model.layer(layer).layout.kind
        raise OutOfRangeError(f"explain needs the maps of a convolutional layer; {layer} is a {kind} layer")
    return maps[0].detach().float().cpu(), grad[0].float().cpu(), top


@shows_progress("explain", "unit-step")
@takes(ExplainSpec)
def explain(model: VisionModel | str, photo: object, layer: str, *, progress: Progress | None = None,
            spec: ExplainSpec | None = None, **options: Any) -> Explanation:
    """A photo explained by a layer's units: at each position the units that fire most, and the
    units that drive the top class most, each with a picture.

    Args:
        model: a VisionModel or a model's name.
        photo: a path, Picture, PIL image or array.
        layer: a layer with positions.
        progress: called with (unit-steps done, unit-steps in all).
        spec: the options as an ``ExplainSpec`` (keyword options override its values).
        options: any option of ``ExplainSpec``, by name (listed below).
    Returns:
        The explanation; ``pages.explanation_page.write_explanation`` writes it as a page.
    Raises:
        OutOfRangeError: an option below 1, or a layer without positions.
        AtlasFolderError: the atlas lacks pictures of the units.
    """
    spec = ExplainSpec.of(spec, **options)
    per_position, max_units, class_units, atlas = spec.per_position, spec.max_units, spec.class_units, spec.atlas
    model = as_model(model)
    info = model.layer(layer)
    if not info.spatial:
        raise OutOfRangeError(f"layer {info.name} has no positions to explain: choose a conv layer (or a token layer)")
    if model.labels is None:
        raise OutOfRangeError(f"{model.name} has no classes: explain needs its top class")
    image = model.prepare(as_photo(photo))
    maps, grad, top = _layer_and_gradient(model, info.name, image)
    contribution = (maps * grad).flatten(1).sum(dim=1)
    drivers = [int(u) for u in contribution.argsort(descending=True)[:class_units]]
    peaks = maps.flatten(1).amax(dim=1)
    allowed = torch.arange(info.channels) if atlas is not None else peaks.argsort(descending=True)[:max_units]
    c, h, w = maps.shape
    chosen = maps[allowed].reshape(len(allowed), h * w)
    positions = []
    for p in range(h * w):
        values, order = chosen[:, p].sort(descending=True, stable=True)
        positions.append([{"unit": int(allowed[i]), "activation": float(v)}
                          for v, i in zip(values[:per_position], order[:per_position])])
    named = sorted({int(entry["unit"]) for row in positions for entry in row} | set(drivers))
    pictures = _pictures(model, info.name, named, atlas, spec.resolved, spec.seed, progress)
    with torch.no_grad():
        probability = float(model.logits(image).softmax(dim=1)[0, top])
    return Explanation(info.name, Picture.from_tensor(image[0].cpu()), (h, w), positions,
                       {"index": top, "name": model.class_name(top), "probability": probability},
                       [{"unit": u, "contribution": float(contribution[u])} for u in drivers], pictures,
                       str(atlas) if atlas is not None else "rendered")


def _pictures(model: VisionModel, layer: str, units: Sequence[int], atlas: str | Path | None, recipe: Recipe,
              seed: int, progress: Progress | None) -> dict[int, Picture]:
    if atlas is not None:
        return atlas_pictures(atlas, layer, units)
    result = render_units(model, layer, units, recipe, seed=seed, batch=len(units), progress=progress)
    return dict(zip(units, result.pictures))
