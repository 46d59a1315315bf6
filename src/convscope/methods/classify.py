"""Top classes of photos: the proof that weights and preprocessing are right."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from convscope.errors import OutOfRangeError
from convscope.io.photo_reading import as_photo
from convscope.models import as_model
from convscope.models.base import VisionModel


@dataclass
class Prediction:
    index: int
    name: str
    probability: float


def classify(model: VisionModel | str, photo: object, top: int = 5) -> list[Prediction]:
    """The ``top`` most probable classes of one photo (a path, Picture, PIL image or array;
    see ``convscope.io.photo_reading.as_photo``), seen as its centre square at the model's input size."""
    model = as_model(model)
    rgb = as_photo(photo)
    if model.labels is None:
        raise OutOfRangeError(f"{model.name} has no class labels to classify with")
    if top <= 0:
        raise OutOfRangeError(f"{{top}} must be positive, got {top}", options=["top"])
    with torch.no_grad():
        probs = model.logits(model.prepare(rgb)).softmax(dim=1)[0]
    values, indices = probs.topk(min(top, probs.numel()))
    return [Prediction(int(i), model.class_name(int(i)), float(v)) for v, i in zip(values, indices)]
