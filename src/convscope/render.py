"""The one loop: parameterize, transform, probe, score, step; batched over units."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from .images import Picture, deprocess_keras2016
from .models.base import VisionModel
from .objectives import Objective, channel_scores
from .param import ToRGB, image_param
from .probe import Probe
from .recipes import Recipe
from .transforms import Compose, lucid_transforms

Progress = Callable[[int, int], None]
"""Called with (unit-steps done, unit-steps in all)."""
Stop = Callable[[dict[str, torch.Tensor]], bool]
"""Called each step with the step's activations, before the update; True ends the run."""


@dataclass
class RenderResult:
    """Pictures of a batch of units, with each unit's objective per step and at the end."""

    pictures: list[Picture]
    images: torch.Tensor  # (B, 3, H, W) in [0, 1], what the network saw at the end
    history: torch.Tensor  # (steps, B): the objective at each step (on the transformed image)
    final: torch.Tensor  # (B,): the objective on the final image, untransformed

    @staticmethod
    def concat(parts: Sequence["RenderResult"]) -> "RenderResult":
        return RenderResult(
            pictures=[p for part in parts for p in part.pictures],
            images=torch.cat([p.images for p in parts]),
            history=torch.cat([p.history for p in parts], dim=1),
            final=torch.cat([p.final for p in parts]),
        )


def make_transforms(name: str) -> Compose:
    if name == "lucid":
        return lucid_transforms()
    if name == "none":
        return Compose([])
    raise ValueError(f"unknown transforms {name!r}: use lucid or none")


Scorer = Callable[[dict[str, torch.Tensor]], torch.Tensor]


def slot_scorer(objectives: Objective | Sequence[Objective], device: torch.device) -> Scorer:
    """What gives one score per batch slot: slot i is scored by objective i (or all by one
    objective). Decided once per batch, so a step does no set-up (and no host-to-device copy)."""
    if isinstance(objectives, Objective):
        def shared(acts: dict[str, torch.Tensor]) -> torch.Tensor:
            values = objectives(acts)
            batch = next(iter(acts.values())).shape[0]
            return values.expand(batch) if values.dim() == 0 else values
        return shared
    units = [objective.unit for objective in objectives]
    if all(units) and len({layer for layer, _n in units}) == 1:  # a layer's units: one gather, not N passes
        layer, channels = units[0][0], torch.tensor([n for _layer, n in units], device=device)
        return lambda acts: channel_scores(acts[layer], channels)
    return lambda acts: torch.stack([objective(acts)[i] for i, objective in enumerate(objectives)])


def needed_layers(objectives: Objective | Sequence[Objective]) -> list[str]:
    objs = [objectives] if isinstance(objectives, Objective) else list(objectives)
    return list(dict.fromkeys(name for o in objs for name in o.layers))


def validate(model: VisionModel, objectives: Objective | Sequence[Objective], size: int) -> None:
    """Checks layers, channels and size before any computation."""
    model.check_size(size)
    objs = [objectives] if isinstance(objectives, Objective) else list(objectives)
    if not objs:
        raise ValueError("nothing to render: no objectives")
    for o in objs:
        o.validate(model, size)
        if not o.layers:
            raise ValueError(f"objective {o} reads no layer")


def _normalized_ascent_step(param: torch.nn.Parameter, lr: float) -> None:
    """The article's step, up the objective: its gradient divided by its root mean square,
    per image. ``param.grad`` holds the gradient of the loss (minus the objective)."""
    g = param.grad
    rms = g.pow(2).flatten(1).mean(dim=1).sqrt() + 1e-5
    with torch.no_grad():
        param.sub_(lr * g / rms.view(-1, *([1] * (g.dim() - 1))))


def optimize(model: VisionModel, objectives: Objective | Sequence[Objective], image: ToRGB, recipe: Recipe,
             transform_seed: int, progress: Progress | None = None, done: int = 0, total: int | None = None,
             stop: Stop | None = None) -> RenderResult:
    """Runs ``recipe.steps`` steps of the loop on one batch (fewer if ``stop`` says so)."""
    transforms = make_transforms(recipe.transforms)
    gen = torch.Generator().manual_seed(int(transform_seed))
    params = list(image.parameters())
    adam = torch.optim.Adam(params, lr=recipe.lr) if recipe.optimizer == "adam" else None
    history = []
    batch = params[0].shape[0]  # every parameterization keeps the batch first
    total = total if total is not None else recipe.steps * batch
    score = slot_scorer(objectives, model.device)
    with model.math_mode(), Probe(model, needed_layers(objectives)) as probe:
        for step in range(recipe.steps):
            for p in params:
                p.grad = None
            x = transforms(image(), gen)
            acts = probe(x)
            if stop is not None and stop(acts):
                break
            scores = score(acts)
            (-scores.sum()).backward()
            if adam is not None:
                adam.step()
            else:
                for p in params:
                    _normalized_ascent_step(p, recipe.lr)
            history.append(scores.detach())  # kept on the device: no sync per step
            if progress is not None:
                progress(done + (step + 1) * batch, total)
        with torch.no_grad():
            final_image = image()
            final = score(probe(final_image)).cpu()
    shown = deprocess_keras2016(final_image) if recipe.deprocess == "keras2016" else final_image
    pictures = [Picture.from_tensor(img) for img in shown]
    history_t = torch.stack(history).cpu() if history else torch.empty(0, batch)
    return RenderResult(pictures, final_image.detach().cpu(), history_t, final)


def render(model: VisionModel, objectives: Objective | Sequence[Objective], recipe: Recipe, *,
           seeds: Sequence[int] | int = 0, transform_seed: int = 0, batch: int = 32,
           init: torch.Tensor | None = None, progress: Progress | None = None, stop: Stop | None = None
           ) -> RenderResult:
    """Pictures that maximize ``objectives``: one per objective (slot i optimizes objective i),
    or, for one objective, one per seed.

    The units are split into batches of ``batch``. Slot i starts from noise drawn with
    ``seeds[i]`` and all slots see the same transforms (drawn with ``transform_seed``), so a
    unit's picture does not depend on which batch it was in.
    ``init`` (N, 3, H, W) in [0, 1] starts from photos instead of noise. ``stop`` can end
    each batch early (see ``Stop``).
    """
    if isinstance(seeds, int):
        count = 1 if isinstance(objectives, Objective) else len(objectives)
        seeds = [seeds + i for i in range(count)]
    seeds = list(seeds)
    objs = [objectives] * len(seeds) if isinstance(objectives, Objective) else list(objectives)
    if len(objs) != len(seeds):
        raise ValueError(f"{len(objs)} objectives but {len(seeds)} seeds")
    if batch <= 0:
        raise ValueError(f"batch must be positive, got {batch}")
    size = recipe.size if init is None else max(init.shape[-2:])
    validate(model, objs, size)
    device = model.device
    shared = objectives if isinstance(objectives, Objective) else None
    parts = []
    total = len(objs) * recipe.steps
    for start in range(0, len(objs), batch):
        chunk = slice(start, start + batch)
        chunk_init = None if init is None else init[chunk]
        image = image_param(recipe.param, seeds[chunk], recipe.size, decorrelated=recipe.decorrelate,
                            sigmoid=recipe.sigmoid, decay=recipe.decay, init=chunk_init, device=device)
        parts.append(optimize(model, shared if shared is not None else objs[chunk], image, recipe,
                              transform_seed, progress, start * recipe.steps, total, stop))
    return RenderResult.concat(parts)
