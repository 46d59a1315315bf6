"""Simonyan's saliency map: where in a photo the class score is most sensitive."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from convscope.errors import ImageInputError, OutOfRangeError
from convscope.io.photo_reading import as_photo
from convscope.io.picture import Picture, to_tensor
from convscope.methods.specs import SaliencySpec
from convscope.models import as_model
from convscope.models.base import VisionModel
from convscope.runtime.spec import takes

# Anchor colours of a dark-to-bright heat scale (black, purple, red, orange, pale yellow).
HEAT = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], dtype=float)


VIEW = "the whole photo, short side at the network's input size (classify uses the centre square)"


@dataclass
class Saliency:
    picture: Picture  # the heat map over the photo
    map: np.ndarray  # (H, W) in [0, 1], the photo's size
    target: int
    name: str
    probability: float  # on the view the map explains: the whole photo (see VIEW)
    classify_probability: float  # on the centre square, as ``classify`` reports it

    def _repr_png_(self) -> bytes:
        return self.picture._repr_png_()


def saliency_map(model: VisionModel, photo: np.ndarray, target: int | None = None, samples: int = 16,
                 noise: float = 0.15, seed: int = 0) -> tuple[np.ndarray, int, float]:
    """Simonyan's map: per pixel, the largest absolute gradient of the class logit over the
    colour channels; averaged over ``samples`` copies of the photo with Gaussian noise of
    std ``noise`` (SmoothGrad; ``samples=1, noise=0`` is the plain map). Returned at the
    photo's size (H, W), divided by its 99th percentile and clipped to [0, 1], with the
    class and its probability.

    The photo is shown whole (not cropped) with its short side at the model's input size;
    ``target`` defaults to the top prediction.
    """
    if samples <= 0 or noise < 0:
        raise OutOfRangeError(f"samples must be positive and noise 0 or more, got {samples} and {noise}")
    h, w = photo.shape[:2]
    if min(h, w) < model.min_size:
        raise ImageInputError(f"the photo is {w}x{h}; {model.name} needs at least {model.min_size} px a side")
    image = to_tensor(photo)[None].to(model.device)
    scale = model.input_size / min(h, w)
    size = (round(h * scale), round(w * scale))
    x = F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)
    with torch.no_grad():
        probs = model.logits(x)[0].softmax(0)
    k = int(probs.argmax()) if target is None else target
    gen = torch.Generator().manual_seed(int(seed))
    heat = torch.zeros(size, device=x.device)
    for _ in range(samples):
        noisy = (x + noise * torch.randn(x.shape, generator=gen).to(x.device)).requires_grad_(True)
        with model.math_mode():
            (grad,) = torch.autograd.grad(model.logits(noisy)[0, k], noisy)
        heat += grad[0].abs().amax(dim=0)
    heat = F.interpolate(heat[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    heat = (heat / (torch.quantile(heat.flatten(), 0.99) + 1e-12)).clamp(max=1)
    return heat.cpu().numpy(), k, float(probs[k])


def heat_colors(values: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1] to (H, W, 3) float RGB on the heat scale."""
    pos = np.clip(values, 0, 1) * (len(HEAT) - 1)
    low = np.floor(pos).astype(int).clip(0, len(HEAT) - 2)
    frac = (pos - low)[..., None]
    return HEAT[low] * (1 - frac) + HEAT[low + 1] * frac


def overlay(photo: np.ndarray, heat: np.ndarray, gamma: float = 0.8) -> np.ndarray:
    """The photo dimmed to gray, with the heat map blended over it by its strength."""
    strength = np.clip(heat, 0, 1) ** gamma
    gray = photo.astype(float).mean(axis=2, keepdims=True) * 0.5
    alpha = strength[..., None]
    out = gray * (1 - alpha) + heat_colors(strength) * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


@takes(SaliencySpec)
def saliency(model: VisionModel | str, photo: object, target: int | str | None = None, *,
             spec: SaliencySpec | None = None, **options: Any) -> Saliency:
    """Where in a photo the class score is most sensitive (SmoothGrad, or Simonyan et al.
    with ``samples=1`` and ``noise=0``).

    Args:
        model: a VisionModel or a model's name.
        photo: a path, Picture, PIL image or array.
        target: a class index or name (default: the top class).
        spec: the options as a ``SaliencySpec`` (keyword options override its values).
        options: any option of ``SaliencySpec``, by name (listed below).
    Returns:
        The heat map over the photo; ``probability`` is the network's on the whole photo,
        ``classify_probability`` the one ``classify`` gives on its centre square.
    Raises:
        UnknownNameError: an unknown class.
        ImageInputError: an unreadable photo.
    """
    spec = SaliencySpec.of(spec, **options)
    samples, noise, seed = spec.samples, spec.noise, spec.seed
    model = as_model(model)
    from convscope.models.classes import resolve_class

    pixels = as_photo(photo)
    k_asked = None if target is None else resolve_class(model, target)
    heat, k, p = saliency_map(model, pixels, k_asked, samples, noise, seed)
    with torch.no_grad():
        centre = float(model.logits(model.prepare(pixels)).softmax(dim=1)[0, k])
    info = {"class": k, "name": model.class_name(k), "probability": p, "classify_probability": centre,
            "view": VIEW, "samples": samples, "noise": noise, "seed": seed}
    return Saliency(Picture(overlay(pixels, heat), info), heat, k, model.class_name(k), p, centre)
