"""Top classes of photos: the proof that weights and preprocessing are right."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from convscope.errors import OutOfRangeError
from convscope.io.photo_reading import as_photo
from convscope.methods.specs import ClassifySpec
from convscope.models import as_model
from convscope.models.base import VisionModel


@dataclass
class Prediction:
    index: int
    name: str
    probability: float


def classify(model: VisionModel | str, photo: object, top: int | None = None, *,
             spec: ClassifySpec | None = None) -> list[Prediction]:
    """The most probable classes of one photo, seen as its centre square at the model's
    input size.

    Args:
        model: a VisionModel or a model's name.
        photo: a path, Picture, PIL image or array (see ``convscope.io.photo_reading.as_photo``).
        top: how many classes (default: the spec's, 5).
        spec: the options as a ``ClassifySpec`` (``top`` overrides its value).
    Returns:
        The classes, most probable first, each with its index, name and probability.
    Raises:
        OutOfRangeError: a model without class labels, or ``top`` below 1.
    """
    spec = ClassifySpec.of(spec, **({} if top is None else {"top": top}))
    model = as_model(model)
    rgb = as_photo(photo)
    if model.labels is None:
        raise OutOfRangeError(f"{model.name} has no class labels to classify with")
    with torch.no_grad():
        probs = model.logits(model.prepare(rgb)).softmax(dim=1)[0]
    values, indices = probs.topk(min(spec.top, probs.numel()))
    return [Prediction(int(i), model.class_name(int(i)), float(v)) for v, i in zip(values, indices)]
