"""The one loop: parameterize, transform, probe, score, step; batched over units."""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from convscope.engine.compiled import compile_failed, compile_for, compiled_forwards, compiled_network, eager_forwards
from convscope.engine.memory import check_render_memory
from convscope.engine.objective_text import as_objective
from convscope.engine.objectives import VIEWS, Objective, channel_scores, unit_objective
from convscope.engine.recipes import DEFAULT_RECIPE, Recipe, get_recipe
from convscope.engine.transforms import Transform
from convscope.errors import ConvscopeError, OutOfRangeError
from convscope.io.picture import Picture, stitch
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
from convscope.runtime.heap import reused_memory
from convscope.runtime.progress import Progress

Stop = Callable[[dict[str, torch.Tensor], torch.Tensor], bool]
"""Called each step with the step's activations (of every view) and the current
(untransformed) images, before the update; True ends the run."""


@dataclass
class RenderResult:
    """Pictures of a batch of units, with each unit's objective per step and at the end.

    ``final`` is the objective on the optimized image (for the "crops" transforms: resized
    to the views' size); ``picture_final`` on the saved picture (8-bit, and in the recipe's
    display: the article's recipe shows a normalized version). ``snapshots`` holds the
    pictures at the steps asked for. Each picture's ``importance`` is its map of
    |d objective / d image| summed over the steps."""

    pictures: list[Picture]
    images: torch.Tensor  # (B, 3, H, W) in [0, 1], what the network saw at the end
    history: torch.Tensor  # (steps, B): the objective at each step (on the transformed image)
    final: torch.Tensor  # (B,): the objective on the final image, untransformed
    picture_final: torch.Tensor  # (B,): the objective on the pictures as saved
    snapshots: dict[int, list[Picture]] = field(default_factory=dict)  # step -> pictures after it

    @staticmethod
    def concat(parts: Sequence["RenderResult"]) -> "RenderResult":
        return RenderResult(
            pictures=[p for part in parts for p in part.pictures],
            images=torch.cat([p.images for p in parts]),
            history=torch.cat([p.history for p in parts], dim=1),
            final=torch.cat([p.final for p in parts]),
            picture_final=torch.cat([p.picture_final for p in parts]),
            snapshots={step: [pic for p in parts for pic in p.snapshots.get(step, [])]
                       for step in parts[0].snapshots},
        )

    def _repr_png_(self) -> bytes:
        return stitch(self.pictures)._repr_png_()

    def __repr__(self) -> str:
        values = ", ".join(f"{v:.3f}" for v in self.final.tolist()[:8])
        more = ", ..." if len(self.pictures) > 8 else ""
        return f"RenderResult({len(self.pictures)} pictures, final [{values}{more}])"


def make_transforms(recipe: Recipe, model: VisionModel) -> Transform:
    """The recipe's transforms for a render on ``model``."""
    return recipe.transforms(recipe.hw, model.input_size, recipe.steps)


def as_seen(recipe: Recipe, model: VisionModel, images: torch.Tensor) -> torch.Tensor:
    """Whole pictures as the network judges them after a render with ``recipe`` (for
    crops: resized to the views' size), as ``RenderResult.final`` does."""
    return make_transforms(recipe, model).whole(images)


Scorer = Callable[[dict[str, torch.Tensor]], torch.Tensor]


def slot_scorer(objectives: Objective | Sequence[Objective], device: torch.device, views: int = 1) -> Scorer:
    """What gives one score per batch slot: slot i is scored by objective i (or all by one
    objective), as the mean over its ``views`` rows (rows i*views ... i*views+views-1).
    Decided once per batch, so a step does no set-up (and no host-to-device copy)."""
    if isinstance(objectives, Objective):
        def shared(acts: dict[str, torch.Tensor]) -> torch.Tensor:
            values = objectives(acts)
            rows = next(iter(acts.values())).shape[0]
            return (values.expand(rows) if values.dim() == 0 else values).view(-1, views).mean(dim=1)
        return shared
    units = [objective.unit for objective in objectives]
    plain = [unit for unit in units if unit is not None]
    if len(plain) == len(units) and len({layer for layer, _n in plain}) == 1:  # one gather, not N passes
        layer = plain[0][0]
        channels = torch.tensor([n for _layer, n in plain], device=device).repeat_interleave(views)
        return lambda acts: channel_scores(acts[layer], channels).view(-1, views).mean(dim=1)
    return lambda acts: torch.stack([objective(acts)[i * views:(i + 1) * views].mean()
                                     for i, objective in enumerate(objectives)])


def needed_layers(objectives: Objective | Sequence[Objective]) -> list[str]:
    objs = [objectives] if isinstance(objectives, Objective) else list(objectives)
    return list(dict.fromkeys(name for o in objs for name in o.layers))


def validate(model: VisionModel, objectives: Objective | Sequence[Objective], size: int | tuple[int, int]) -> None:
    """Checks layers, channels and size before any computation."""
    model.check_size(size)
    objs = [objectives] if isinstance(objectives, Objective) else list(objectives)
    if not objs:
        raise OutOfRangeError("nothing to render: no objectives")
    for o in objs:
        o.validate(model, size)
        if not o.layers:
            raise OutOfRangeError(f"objective {o} reads no layer: name a unit such as block8:12")


def check_forward(model: VisionModel, layers: Sequence[str], hw: tuple[int, int], option: str = "size") -> None:
    """One forward pass of a gray image of ``hw`` (height, width): a network that cannot take that
    size (a fixed position embedding, a fully connected layer) fails here, with a clear message
    that names the ``option`` that sets it."""
    try:
        with torch.no_grad(), Probe(model, layers) as probe:
            probe(torch.full((1, 3, *hw), 0.5, device=model.device))
    except ConvscopeError:
        raise
    except (RuntimeError, AssertionError, ValueError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise OutOfRangeError(f"{model.name} cannot take {hw[1]}x{hw[0]} images ({first}); "
                              f"try {{{option}}} {model.input_size}", options=[option]) from e


def normalize_importance(values: torch.Tensor) -> np.ndarray:
    """(H, W) accumulated |gradient| to [0, 1]: divided by its 99th percentile and clipped."""
    top = float(torch.quantile(values.flatten().float(), 0.99))
    return (values / top).clamp(0, 1).numpy() if top > 0 else torch.zeros_like(values).numpy()


def _shown(recipe: Recipe, images: torch.Tensor) -> list[Picture]:
    """The pictures of a batch of images, in the recipe's display."""
    return [Picture.from_tensor(img) for img in recipe.shown(images)]


@dataclass
class BatchRun:
    """One batch of the loop: what it optimizes, with what, and what it reports.

    Attributes:
        objectives: one objective per slot, or one for every slot.
        image: the batch's parameterization (``image()`` gives its images).
        size: the slots in the batch.
        recipe: the steps, transforms, optimizer and display.
        transform_seed: the seed of the transforms' draws.
        progress: called with (unit-steps done, unit-steps in all), or None.
        done: unit-steps done before this batch, for ``progress``.
        total: unit-steps in all, for ``progress`` (None: this batch's).
        stop: can end the batch early (see ``Stop``).
        thresholds: steps after which the pictures are also kept.
        compile: whether the network's blocks run compiled (eagerly if compiling fails).
    """

    objectives: Objective | Sequence[Objective]
    image: torch.nn.Module
    size: int
    recipe: Recipe
    transform_seed: int
    progress: Progress | None = None
    done: int = 0
    total: int | None = None
    stop: Stop | None = None
    thresholds: Sequence[int] = ()
    compile: bool = False


def optimize(model: VisionModel, run: BatchRun) -> RenderResult:
    """Runs ``run.recipe.steps`` steps of the loop on one batch (fewer if ``run.stop`` says so).

    Args:
        model: the network.
        run: the batch and its settings.
    Returns:
        The batch's pictures, their objective per step and at the end, and the snapshots.
    """
    objectives, image, recipe, batch = run.objectives, run.image, run.recipe, run.size
    progress, done, stop, thresholds, compile = run.progress, run.done, run.stop, run.thresholds, run.compile
    transforms = make_transforms(recipe, model)
    gen = torch.Generator().manual_seed(int(run.transform_seed))
    params = list(image.parameters())
    optimizer = recipe.optimizer(params)
    history = []
    total = run.total if run.total is not None else recipe.steps * batch
    score = slot_scorer(objectives, model.device, transforms.views)
    score_whole = slot_scorer(objectives, model.device)
    snapshots: dict[int, list[Picture]] = {}
    importance = None
    drawn = transforms.draw_steps(gen, recipe.steps)
    layers = needed_layers(objectives)

    def gradient_step(step: int, probe: Probe) -> tuple[torch.Tensor, torch.Tensor] | None:
        """One forward and backward: the scores and d objective / d image, or None to stop."""
        optimizer.zero_grad(set_to_none=True)
        current = image()
        current.retain_grad()  # d objective / d image, for the importance map
        acts = probe(transforms.transform(current, *drawn[step]))
        if transforms.views > 1:
            acts[VIEWS] = torch.tensor(transforms.views)  # for objectives that compare slots
        if stop is not None and stop(acts, current.detach()):
            return None
        scores = score(acts)
        (-scores.sum()).backward()
        return scores, current.grad

    with model.math_mode(), Probe(model, layers) as probe:
        with compiled_forwards(model, layers) if compile else nullcontext():
            for step in range(recipe.steps):
                try:
                    outcome = gradient_step(step, probe)
                except Exception as error:  # noqa: BLE001 - any failure of a compiled step falls back
                    if not compile:
                        raise
                    eager_forwards(model, layers)
                    compile = False
                    compile_failed(model, error)
                    outcome = gradient_step(step, probe)
                if outcome is None:
                    break
                scores, image_grad = outcome
                step_importance = image_grad.abs().sum(dim=1)
                importance = step_importance if importance is None else importance + step_importance
                optimizer.step()
                history.append(scores.detach())  # kept on the device: no sync per step
                if step + 1 in thresholds:
                    with torch.no_grad():
                        snapshots[step + 1] = _shown(recipe, image())
                if progress is not None:
                    progress(done + (step + 1) * batch, total)
        with torch.no_grad():
            final_image = image()
            final = score_whole(probe(transforms.whole(final_image))).cpu()
            pictures = _shown(recipe, final_image)
            saved = torch.stack([p.to_tensor() for p in pictures]).to(final_image.device)
            picture_final = score_whole(probe(transforms.whole(saved))).cpu()
    if importance is not None:
        for picture, values in zip(pictures, importance.cpu()):
            picture.importance = normalize_importance(values)
    history_t = torch.stack(history).cpu() if history else torch.empty(0, batch)
    return RenderResult(pictures, final_image.detach().cpu(), history_t, final, picture_final, snapshots)


def render(model: VisionModel, objectives: Objective | str | Sequence[Objective | str],
           recipe: Recipe | str = DEFAULT_RECIPE, *, seeds: Sequence[int] | int = 0, transform_seed: int = 0,
           batch: int = 32, init: torch.Tensor | None = None, progress: Progress | None = None,
           stop: Stop | None = None, thresholds: Sequence[int] = ()) -> RenderResult:
    """Pictures that maximize objectives: the one loop (see the module docstring).

    Slot i optimizes objective i (or, for one objective, each seed gets a picture). Slot i
    starts from noise drawn with ``seeds[i]`` and all slots see the same transforms, drawn
    with ``transform_seed``, so a unit's picture does not depend on which batch it was in.

    Args:
        model: the network.
        objectives: an Objective or its text, or a list of them.
        recipe: a Recipe or a recipe's name.
        seeds: one seed per slot, or the first of consecutive seeds.
        transform_seed: the seed of the transforms' draws.
        batch: slots optimized together.
        init: (N, 3, H, W) in [0, 1] to start from photos instead of noise.
        progress: called with (unit-steps done, unit-steps in all).
        stop: can end each batch early (see ``Stop``).
        thresholds: steps after which the pictures are also kept (``result.snapshots``).
    Returns:
        The pictures, each objective per step and at the end, and the snapshots.
    Raises:
        UnknownNameError: an objective reading an unknown layer.
        OutOfRangeError: a unit, size or option out of range, or a render that cannot fit in memory.
    """
    recipe = get_recipe(recipe)
    objectives = as_objective(objectives) if isinstance(objectives, (Objective, str)) else \
        [as_objective(o) for o in objectives]
    thresholds = sorted(set(int(t) for t in thresholds))
    if thresholds and not (thresholds[0] >= 1 and thresholds[-1] <= recipe.steps):
        raise OutOfRangeError(f"thresholds must be steps from 1 to {recipe.steps}, got {thresholds}")
    if isinstance(seeds, int):
        count = 1 if isinstance(objectives, Objective) else len(objectives)
        seeds = [seeds + i for i in range(count)]
    seeds = list(seeds)
    objs = [objectives] * len(seeds) if isinstance(objectives, Objective) else [as_objective(o) for o in objectives]
    if len(objs) != len(seeds):
        raise ValueError(f"{len(objs)} objectives but {len(seeds)} seeds")
    if batch <= 0:
        raise OutOfRangeError(f"batch must be positive, got {batch}")
    if init is not None:
        recipe = recipe.with_options(size=tuple(init.shape[-2:]))
    seen = recipe.view_hw(model.input_size)
    validate(model, objs, seen)
    check_render_memory(model, needed_layers(objs), seen, min(batch, len(objs)) * recipe.views)
    check_forward(model, needed_layers(objs), seen, "view_size" if recipe.transforms.resizes else "size")
    device = model.device
    shared = objectives if isinstance(objectives, Objective) else None
    parts = []
    total = len(objs) * recipe.steps
    compile = compile_for(model, recipe.steps)
    with reused_memory(device):
        for start in range(0, len(objs), batch):
            chunk = slice(start, start + batch)
            # a last batch of another size runs eagerly rather than compiling a new shape
            compile_chunk = compile and not compiled_network(model).failed and (len(objs[chunk]) == min(batch, len(objs)))
            chunk_init = None if init is None else init[chunk]
            image = recipe.image(seeds[chunk], recipe.hw, device, chunk_init)
            run = BatchRun(shared if shared is not None else objs[chunk], image, len(seeds[chunk]), recipe,
                           transform_seed, progress, start * recipe.steps, total, stop, thresholds, compile_chunk)
            parts.append(optimize(model, run))
    return RenderResult.concat(parts)


def render_units(model: VisionModel, layer: str, units: Sequence[int], recipe: Recipe | str = DEFAULT_RECIPE, *,
                 seed: int = 0, batch: int = 32, progress: Progress | None = None,
                 thresholds: Sequence[int] = ()) -> RenderResult:
    """Pictures of units of one layer (see ``unit_objective``): unit u starts from noise drawn with
    ``seed + u`` and every unit sees the transforms drawn with ``seed``, so a unit's picture does
    not depend on which units are rendered with it.

    Args:
        model: the network.
        layer: the layer's name.
        units: the units (channels) to render, in the order of the result.
        recipe: a Recipe or a recipe's name.
        seed: the seed of the noise and the transforms.
        batch: units optimized together.
        progress: called with (unit-steps done, unit-steps in all).
        thresholds: steps after which the pictures are also kept.
    Returns:
        One picture per unit, with their activations (see ``render``).
    """
    return render(model, [unit_objective(model, layer, u) for u in units], recipe, seeds=[seed + u for u in units],
                  transform_seed=seed, batch=batch, progress=progress, thresholds=thresholds)
