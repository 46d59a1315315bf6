"""Feature accentuation (Hamblin et al. 2024) and caricature (Lucid), on the one render loop.

Both start from a photo itself (its own pixels, as the image parameterization's first value)
and optimize without the recipe's robustness transforms (the result is compared with the
photo's activations position by position):

- accentuation raises an objective (a unit, a class, any objective) while a penalty keeps an
  earlier layer's activations close to the photo's, so the result still looks like the photo;
- caricature raises Lucid's caricature objective for layers: the projection of their
  activations on the photo's own times their cosine similarity, exaggerating what those
  layers see in the photo.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import torch

from convscope.engine.objective_text import as_objective
from convscope.engine.objectives import Objective, caricature_of, closeness, cosine
from convscope.engine.recipes import Recipe, get_recipe
from convscope.engine.render import render
from convscope.engine.transforms import no_transforms
from convscope.errors import OutOfRangeError
from convscope.io.photo_reading import as_photo
from convscope.io.picture import Picture, row
from convscope.methods.specs import AccentuateSpec, CaricatureSpec
from convscope.models import as_model
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
from convscope.runtime.progress import Progress, shows_progress
from convscope.runtime.spec import takes


def photo_recipe(recipe: str | Recipe, steps: int, size: int) -> Recipe:
    """The recipe without its robustness transforms: the result is compared with the photo's own
    activations position by position, and jitter, scale and rotation would misalign them (so would
    maco's crops, and its fixed amplitude cannot start from the photo's)."""
    rec = get_recipe(recipe, steps=steps, size=size)
    if rec.transforms.resizes or rec.settings.get("param") == "maco":
        raise OutOfRangeError(f"accentuation and caricature compare the image with the photo position by position: "
                              f"use the lucid recipe, not {rec.name}")
    return rec.with_options(transforms="none") if rec.rebuild is not None else replace(rec, transforms=no_transforms)


@dataclass
class Accentuated:
    """The result, the photo as the network saw it, and the numbers."""

    picture: Picture
    photo: Picture
    sheet: Picture  # photo, result, and their difference (gray is none)
    info: dict

    def _repr_png_(self) -> bytes:
        return self.sheet._repr_png_()


def earlier_layer(model: VisionModel, objective: Objective) -> str:
    """The main layer about halfway to the deepest layer ``objective`` reads."""
    main = [model.layers[n] for n in model.main_layers]
    read = [model.layer(n) for n in objective.layers if n in model.layers or n in model.aliases]
    deepest = max((l.order for l in read), default=main[-1].order)
    earlier = [l for l in main if l.order < deepest and l.spatial]
    if not earlier:
        raise OutOfRangeError(f"objective {objective} reads no layer with an earlier one to keep close: give {{layer}}",
                              options=["layer"])
    return earlier[len(earlier) // 2].name


def _photo_image(model: VisionModel, photo: object) -> torch.Tensor:
    """(1, 3, S, S): the photo at the network's input size, centre square."""
    return model.prepare(as_photo(photo))


def _noise_start(model: VisionModel, rec: Recipe, seed: int) -> torch.Tensor:
    """The image a render with ``rec`` and ``seed`` starts from."""
    with torch.no_grad():
        return rec.image([seed], rec.hw, model.device)().cpu()


def _values(model: VisionModel, objectives: Sequence[Objective], image: torch.Tensor) -> list[float]:
    layers = list(dict.fromkeys(n for o in objectives for n in o.layers))
    with torch.no_grad(), Probe(model, layers) as probe:
        acts = probe(image.to(model.device))
    return [float(o(acts)[0]) for o in objectives]


def _difference(a: torch.Tensor, b: torch.Tensor) -> Picture:
    """Gray where equal; brighter and darker where b is above or below a (doubled)."""
    return Picture.from_tensor((0.5 + (b - a)).clamp(0, 1)[0].cpu())


def _finish(start: torch.Tensor, picture: Picture, info: dict) -> Accentuated:
    photo = Picture.from_tensor(start[0].cpu())
    saved = picture.to_tensor()[None]
    info["pixel_distance"] = float((saved - start.cpu()).abs().mean())
    return Accentuated(picture, photo, row([photo, picture, _difference(start.cpu(), saved)]), info)


@shows_progress("accentuate", "unit-step")
@takes(AccentuateSpec)
def accentuate(model: VisionModel | str, photo: object, objective: Objective | str, *,
               progress: Progress | None = None, spec: AccentuateSpec | None = None, **options: Any) -> Accentuated:
    """Feature accentuation (Hamblin et al. 2024): ``photo`` changed to raise ``objective``
    while a layer's activations stay close to the photo's, so the result still looks like it.

    Args:
        model: a VisionModel or a model's name.
        photo: a path, Picture, PIL image or array (see ``convscope.io.photo_reading.as_photo``).
        objective: what to raise: an Objective or its text ("block8:12", "logits:18").
        progress: called with (unit-steps done, unit-steps in all).
        spec: the options as an ``AccentuateSpec`` (keyword options override its values).
        options: any option of ``AccentuateSpec``, by name (listed below).
    Returns:
        The photo, the accentuated image, their difference and the objective before and after.
    Raises:
        OutOfRangeError: a strength out of range, or an objective with no earlier layer.
    """
    spec = AccentuateSpec.of(spec, **options)
    model = as_model(model)
    strength, steps, seed, layer = spec.strength, spec.steps, spec.seed, spec.layer
    target = as_objective(objective)
    target.validate(model, model.input_size)
    layer = model.layer(layer).name if layer is not None else earlier_layer(model, target)
    start = _photo_image(model, photo)
    with torch.no_grad(), Probe(model, [layer]) as probe:
        reference = probe(start)[layer]
    keep = closeness(layer, reference)
    total = target + strength * keep if strength else target
    rec = photo_recipe(spec.recipe, steps, model.input_size)
    result = render(model, [total], rec, seeds=[seed], transform_seed=seed, init=start.cpu(), progress=progress)
    picture = result.pictures[0]
    saved = picture.to_tensor()[None]
    (before,) = _values(model, [target], start)
    after, keep_after = _values(model, [target, keep], saved)
    info = {"model": model.name, "objective": str(target), "layer": layer, "strength": strength, "steps": steps,
            "objective_before": before, "objective_after": after, "layer_distance": -keep_after,
            "recipe": rec.as_dict(), "seed": seed, "precision": model.effective_precision}
    picture.info = dict(info)
    return _finish(start, picture, info)


@shows_progress("caricature", "unit-step")
@takes(CaricatureSpec)
def caricature(model: VisionModel | str, photo: object, layers: Sequence[str], *, progress: Progress | None = None,
               spec: CaricatureSpec | None = None, **options: Any) -> Accentuated:
    """Lucid's caricature: what ``layers`` see in ``photo``, exaggerated (see
    ``objectives.caricature_of``).

    Args:
        model: a VisionModel or a model's name.
        photo: a path, Picture, PIL image or array.
        layers: the layers whose view of the photo to exaggerate.
        progress: called with (unit-steps done, unit-steps in all).
        spec: the options as a ``CaricatureSpec`` (keyword options override its values).
        options: any option of ``CaricatureSpec``, by name (listed below).
    Returns:
        The image, the objective, and the cosine similarity with the photo's activations before
        and after.
    Raises:
        OutOfRangeError: no layer named.
    """
    spec = CaricatureSpec.of(spec, **options)
    steps, from_noise, seed = spec.steps, spec.from_noise, spec.seed
    model = as_model(model)
    if not layers:
        raise OutOfRangeError("name at least one layer for the caricature, such as {layers} block8", options=["layers"])
    names = [model.layer(n).name for n in layers]
    start = _photo_image(model, photo)
    with torch.no_grad(), Probe(model, names) as probe:
        reference = probe(start)
    total = caricature_of(names[0], reference[names[0]])
    for n in names[1:]:
        total = total + caricature_of(n, reference[n])
    similarity = [cosine(n, reference[n]) for n in names]
    rec = photo_recipe(spec.recipe, steps, model.input_size)
    result = render(model, [total], rec, seeds=[seed], transform_seed=seed,
                    init=None if from_noise else start.cpu(), progress=progress)
    picture = result.pictures[0]
    saved = picture.to_tensor()[None]
    begin = start if not from_noise else _noise_start(model, rec, seed)
    before, after = _values(model, [total, *similarity], begin), _values(model, [total, *similarity], saved)
    info = {"model": model.name, "layers": names, "steps": steps, "from_noise": from_noise,
            "objective_before": before[0], "objective_after": after[0],
            "cosine_before": dict(zip(names, before[1:])), "cosine_after": dict(zip(names, after[1:])),
            "recipe": rec.as_dict(), "seed": seed, "precision": model.effective_precision}
    picture.info = dict(info)
    return _finish(start, picture, info)
