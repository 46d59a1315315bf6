"""DeepDream on real photos: octaves, detail re-injection, jitter, tiled gradients.

Mordvintsev's algorithm: shrink the photo into octaves, dream from the smallest up,
and at each step up add back the detail lost by shrinking. Each step rolls the image
by a random offset, takes the objective's gradient tile by tile (so big photos fit in
memory and the random shift hides tile seams), and moves by the gradient divided by
its mean absolute value.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from convscope.engine.objective_text import as_objective
from convscope.engine.objectives import Objective, layer
from convscope.errors import ImageInputError, OutOfRangeError
from convscope.io.photo_reading import as_photo
from convscope.io.picture import Picture, to_tensor
from convscope.methods.specs import DreamSpec
from convscope.models import as_model
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
from convscope.runtime.heap import reused_memory
from convscope.runtime.progress import Progress, shows_progress
from convscope.runtime.spec import takes


@dataclass
class DreamResult:
    picture: Picture
    score_before: float
    score_after: float
    octaves: int
    settings: dict

    def _repr_png_(self) -> bytes:
        return self.picture._repr_png_()


def layers_objective(layers: Sequence[str], weights: Sequence[float] | None = None) -> Objective:
    """DeepDream's default: the weighted sum of the layers' squared activations."""
    if not layers:
        raise OutOfRangeError("name at least one layer to dream with")
    weights = list(weights) if weights is not None else [1.0] * len(layers)
    if len(weights) != len(layers):
        raise OutOfRangeError(f"{len(layers)} layers but {len(weights)} layer weights")
    terms = [layer(name) if w == 1 else w * layer(name) for name, w in zip(layers, weights)]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def tiled_gradient(probe: Probe, objective: Objective, image: torch.Tensor, tile: int,
                   shift: tuple[int, int] = (0, 0)) -> tuple[torch.Tensor, float]:
    """The objective's gradient for a (1, 3, H, W) image, computed ``tile`` px at a time
    on the image rolled by ``shift`` (then rolled back); and the summed objective."""
    sy, sx = shift
    rolled = torch.roll(image, (sy, sx), dims=(2, 3))
    grad = torch.zeros_like(rolled)
    h, w = rolled.shape[-2:]
    score = 0.0
    for y in _tile_starts(h, tile):
        for x in _tile_starts(w, tile):
            part = rolled[:, :, y:y + tile, x:x + tile].detach().requires_grad_(True)
            with probe.model.math_mode():
                value = objective(probe(part)).sum()
                (g,) = torch.autograd.grad(value, part)
            grad[:, :, y:y + tile, x:x + tile] = g
            score += float(value.detach())
    return torch.roll(grad, (-sy, -sx), dims=(2, 3)), score


def _tile_starts(length: int, tile: int) -> list[int]:
    """Tile offsets covering ``length``; the last tile is moved back to stay full-size."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, tile)) + [length - tile]
    return starts


def _resize(image: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)


def octave_sizes(h: int, w: int, octaves: int, scale: float, min_size: int) -> list[tuple[int, int]]:
    """Sizes from the photo's down, dropping octaves smaller than the network takes."""
    sizes = [(h, w)]
    for _ in range(octaves - 1):
        nh, nw = round(sizes[-1][0] / scale), round(sizes[-1][1] / scale)
        if min(nh, nw) < min_size:
            break
        sizes.append((nh, nw))
    return sizes


DEFAULT_LAYERS = ("block8", "block10")


@shows_progress("dream", "step")
@takes(DreamSpec)
def dream(model: VisionModel | str, photo: object, objective: Objective | str | None = None, *,
          progress: Progress | None = None, spec: DreamSpec | None = None, **options: Any) -> DreamResult:
    """DeepDream: amplifies what ``objective`` sees in ``photo``, octave by octave; the result
    has the photo's size.

    Args:
        model: a VisionModel or a model's name.
        photo: a path, Picture, PIL image or array (see ``convscope.io.photo_reading.as_photo``).
        objective: an Objective or its text; by default the squared activations of ``layers``.
        progress: called with (steps done, steps in all).
        spec: the options as a ``DreamSpec`` (keyword options override its values).
        options: any option of ``DreamSpec``, by name (listed below).
    Returns:
        The dream and the objective before and after.
    Raises:
        OutOfRangeError: both or neither of ``objective`` and ``layers``, or an option out of range.
        ImageInputError: an unreadable photo.
    """
    spec = DreamSpec.of(spec, **options)
    model = as_model(model)
    if objective is None:
        objective = layers_objective(spec.layers or DEFAULT_LAYERS, spec.layer_weights)
    elif spec.layers is not None or spec.layer_weights is not None:
        raise OutOfRangeError("give an objective or {layers} (with {layer_weights}) to dream with, not both: an "
                              "objective such as 'block8 + 1.5*block10' weights layers itself",
                              options=["layers", "layer_weights"])
    else:
        objective = as_objective(objective)
    photo = as_photo(photo)
    octaves, octave_scale, steps, step_size = spec.octaves, spec.octave_scale, spec.steps, spec.step_size
    jitter, tile, seed = spec.jitter, spec.tile, spec.seed
    h, w = photo.shape[:2]
    if min(h, w) < model.min_size:
        raise ImageInputError(f"the photo is {w}x{h}; {model.name} needs at least {model.min_size} px a side")
    if tile < model.min_size:
        raise OutOfRangeError(f"tile must be at least {model.min_size} px for {model.name}, got {tile}")
    objective.validate(model, model.input_size)
    device = model.device
    gen = torch.Generator().manual_seed(int(seed))
    base = to_tensor(photo)[None].to(device)
    sizes = octave_sizes(h, w, octaves, octave_scale, model.min_size)
    bases = [base] + [_resize(base, s) for s in sizes[1:]]
    total, done = len(sizes) * steps, 0
    with reused_memory(device), Probe(model, objective.layers) as probe:
        _, before = tiled_gradient(probe, objective, base, tile)
        detail = torch.zeros_like(bases[-1])
        for octave_base in reversed(bases):
            detail = _resize(detail, octave_base.shape[-2:]) if detail.shape != octave_base.shape else detail
            image = (octave_base + detail).clamp(0, 1)
            for _ in range(steps):
                oy, ox = (torch.randint(-jitter, jitter + 1, (2,), generator=gen).tolist() if jitter else (0, 0))
                grad, _ = tiled_gradient(probe, objective, image, tile, (oy, ox))
                image = (image + step_size * grad / (grad.abs().mean() + 1e-8)).clamp(0, 1)
                done += 1
                if progress is not None:
                    progress(done, total)
            detail = image - octave_base
        _, after = tiled_gradient(probe, objective, image, tile)
    settings = {"objective": str(objective), "octaves": octaves, "octave_scale": octave_scale, "steps": steps,
                "step_size": step_size, "jitter": jitter, "tile": tile, "seed": seed, "model": model.name,
                "precision": model.effective_precision}
    picture = Picture.from_tensor(image[0], {**settings, "score_before": before, "score_after": after,
                                             "octaves_used": len(sizes)})
    return DreamResult(picture, before, after, len(sizes), settings)
