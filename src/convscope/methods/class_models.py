"""Class models: the image a network takes for a class, and whether a second network agrees."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from convscope.engine.objectives import class_logit, class_prob
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.io.picture import Picture, fit_square
from convscope.methods.specs import ClassvizSpec
from convscope.models import as_model
from convscope.models.base import VisionModel
from convscope.models.classes import resolve_class
from convscope.runtime.progress import Progress, shows_progress
from convscope.runtime.spec import takes

TOP = 5


@dataclass
class Opinion:
    """What one network sees in an image: the target's probability and rank, and its top classes."""

    model: str
    probability: float
    rank: int
    top: list[dict]


@dataclass
class ClassModel:
    """The image the network took for the class (``picture``: exactly what it was sure of,
    as 8-bit pixels), the article's display of it where the recipe has one, and the numbers."""

    picture: Picture
    target: int
    name: str
    curve: list[float]  # the target's probability before each step, and at the end (steps_run + 1)
    steps_run: int
    reached: bool
    opinions: list[Opinion]  # the first is the model's own, on ``picture``'s pixels
    settings: dict
    display: Picture | None = None  # the article's display (centred, std 0.1, +0.5), not what was scored

    def sidecar(self) -> dict:
        return {"class": self.target, "name": self.name, "steps_run": self.steps_run, "reached": self.reached,
                "probability_curve": self.curve, "networks": [asdict(o) for o in self.opinions], **self.settings}

    def _repr_png_(self) -> bytes:
        return self.picture._repr_png_()


def opinion(model: VisionModel, image: torch.Tensor, target: int, resize: bool = True) -> Opinion:
    """Asks ``model`` what it sees in ``image`` (3, H, W) in [0, 1], at its own input size
    (or at the image's size with ``resize=False``)."""
    x = fit_square(image, model.input_size) if resize else image
    with torch.no_grad():
        probs = model.logits(x[None].to(model.device)).softmax(dim=1)[0].cpu()
    order = probs.argsort(descending=True)
    rank = int((order == target).nonzero()[0, 0]) + 1
    top = [{"index": int(i), "name": model.class_name(int(i)), "probability": float(probs[i])} for i in order[:TOP]]
    return Opinion(model.name, float(probs[target]), rank, top)


@shows_progress("classviz", "step")
@takes(ClassvizSpec)
def class_model(model: VisionModel | str, target: int | str, *, progress: Progress | None = None,
                spec: ClassvizSpec | None = None, **options: Any) -> ClassModel:
    """The image the network takes for class ``target``: its logit (or its probability,
    ``score="prob"``) maximized from noise; the article's fooling images.

    Args:
        model: a VisionModel or a model's name.
        target: a class index or name ("sea snake").
        progress: called with (unit-steps done, unit-steps in all).
        spec: the options as a ``ClassvizSpec`` (keyword options override its values).
        options: any option of ``ClassvizSpec``, by name (listed below).
    Returns:
        The image, its probability per step, and each network's opinion of it.
    Raises:
        UnknownNameError: an unknown class.
        OutOfRangeError: a score or ``until`` out of range.
    """
    spec = ClassvizSpec.of(spec, **options)
    model = as_model(model)
    target = resolve_class(model, target)
    score, until, steps, size, seed = spec.score, spec.until, spec.steps, spec.size, spec.seed
    base = get_recipe(spec.recipe)
    views = base.transforms.resizes  # the network sees views of a size of their own: the picture keeps the recipe's
    rec = get_recipe(base, steps=steps or base.uses.class_steps,
                     size=size or (None if views else model.input_size),
                     crop_scale_end=base.settings.get("crop_scale_end") or base.uses.class_crop_scale_end)
    objective = class_logit(target) if score == "logit" else class_prob(target)
    curve: list[float] = []

    def watch(acts: dict[str, torch.Tensor], images: torch.Tensor) -> bool:
        curve.append(float(acts["logits"].detach().softmax(dim=1)[:, target].mean()))  # over the views
        # stop only when the 8-bit picture that will be saved is as sure as the float image
        return until is not None and curve[-1] >= until and \
            opinion(model, Picture.from_tensor(images[0]).to_tensor(), target, resize=views).probability >= until

    result = render(model, [objective], rec, seeds=[seed], transform_seed=seed, progress=progress, stop=watch)
    picture = Picture.from_tensor(result.images[0])
    image = picture.to_tensor()
    opinions = [opinion(model, image, target, resize=views)] + [opinion(m, image, target) for m in spec.others]
    steps_run = len(result.history)
    curve = curve[:steps_run] + [opinions[0].probability]
    h, w = rec.hw
    settings = {"model": model.name, "score": score, "until": until, "seed": seed, "size": [w, h],
                "recipe": rec.as_dict(), "precision": model.effective_precision,
                "picture": "the image the network scored, as 8-bit pixels"}
    display = result.pictures[0] if rec.display is not None else None
    info = {"class": target, "name": model.class_name(target), "probability": opinions[0].probability,
            "steps_run": steps_run}
    picture.info = info
    return ClassModel(picture, target, model.class_name(target), curve, steps_run,
                      until is not None and curve[-1] >= until, opinions, settings, display)
