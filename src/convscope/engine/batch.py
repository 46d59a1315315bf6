"""One batch of the loop: parameterize, transform, probe, score, step, for the units of a
batch together; a batch can stop after any step and go on later (``start_batch``,
``advance``, ``finish``)."""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from convscope.engine.compiled import compile_failed, compiled_forwards, eager_forwards
from convscope.engine.objectives import VIEWS, Objective, channel_scores
from convscope.engine.recipes import Recipe
from convscope.engine.slots import SlotState, stack_slots
from convscope.engine.transforms import Transform
from convscope.io.picture import Picture, stitch
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
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
    slots: list[int] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)

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
            slots=[i for p in parts for i in p.slots],
            dropped=[d for p in parts for d in p.dropped],
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


@dataclass
class BatchState:
    """A batch between steps: its optimizer, the transforms' draws, the step it reached and
    what it has recorded (the objective per step, the summed |gradient|, the snapshots)."""

    optimizer: torch.optim.Optimizer
    transforms: Transform
    drawn: list
    compile: bool
    step: int = 0
    history: list[torch.Tensor] = field(default_factory=list)
    importance: torch.Tensor | None = None
    snapshots: dict[int, list[Picture]] = field(default_factory=dict)


def start_batch(model: VisionModel, run: BatchRun, slots: Sequence[SlotState] = ()) -> BatchState:
    """A batch ready for its first step, or, given ``slots``, for the step those slots reached
    (their parameters, optimizer moments and records loaded into ``run.image``).

    Args:
        model: the network.
        run: the batch and its settings.
        slots: the states of the batch's slots, in order, or nothing for a fresh start.
    Returns:
        The batch's state.
    """
    transforms = make_transforms(run.recipe, model)
    gen = torch.Generator().manual_seed(int(run.transform_seed))
    state = BatchState(run.recipe.optimizer(list(run.image.parameters())), transforms,
                       transforms.draw_steps(gen, run.recipe.steps), run.compile)
    if slots:
        stack_slots(slots, run.image, state.optimizer)
        state.history = list(torch.stack([slot.history for slot in slots], dim=1))
        state.step = len(state.history)
        if slots[0].importance is not None:
            state.importance = torch.stack([slot.importance for slot in slots]).to(model.device)  # type: ignore[misc]
        state.snapshots = {step: [slot.snapshots[step] for slot in slots] for step in slots[0].snapshots}
    return state


def advance(model: VisionModel, run: BatchRun, state: BatchState, until: int) -> None:
    """Runs the loop on one batch from the step it reached to step ``until`` (or until
    ``run.stop`` ends it).

    Args:
        model: the network.
        run: the batch and its settings.
        state: the batch's state, advanced in place.
        until: the step to stop after.
    """
    objectives, image, recipe, batch = run.objectives, run.image, run.recipe, run.size
    transforms, optimizer, drawn, begin = state.transforms, state.optimizer, state.drawn, state.step
    total = run.total if run.total is not None else recipe.steps * batch
    score = slot_scorer(objectives, model.device, transforms.views)
    layers = needed_layers(objectives)

    def gradient_step(step: int, probe: Probe) -> tuple[torch.Tensor, torch.Tensor] | None:
        """One forward and backward: the scores and d objective / d image, or None to stop."""
        optimizer.zero_grad(set_to_none=True)
        current = image()
        current.retain_grad()  # d objective / d image, for the importance map
        acts = probe(transforms.transform(current, *drawn[step]))
        if transforms.views > 1:
            acts[VIEWS] = torch.tensor(transforms.views)  # for objectives that compare slots
        if run.stop is not None and run.stop(acts, current.detach()):
            return None
        scores = score(acts)
        (-scores.sum()).backward()
        return scores, current.grad

    with model.math_mode(), Probe(model, layers) as probe:
        with compiled_forwards(model, layers) if state.compile else nullcontext():
            for step in range(begin, until):
                try:
                    outcome = gradient_step(step, probe)
                except Exception as error:  # noqa: BLE001 - any failure of a compiled step falls back
                    if not state.compile:
                        raise
                    eager_forwards(model, layers)
                    state.compile = False
                    compile_failed(model, error)
                    outcome = gradient_step(step, probe)
                if outcome is None:
                    break
                scores, image_grad = outcome
                step_importance = image_grad.abs().sum(dim=1)
                state.importance = step_importance if state.importance is None else state.importance + step_importance
                optimizer.step()
                state.history.append(scores.detach())  # kept on the device: no sync per step
                state.step = step + 1
                if step + 1 in run.thresholds:
                    with torch.no_grad():
                        state.snapshots[step + 1] = _shown(recipe, image())
                if run.progress is not None:
                    run.progress(run.done + (step + 1 - begin) * batch, total)


def whole_scores(model: VisionModel, run: BatchRun, state: BatchState, images: torch.Tensor) -> torch.Tensor:
    """(B,) each slot's objective on whole ``images`` (untransformed; for crops, resized to
    the views' size), on the host."""
    with torch.no_grad(), model.math_mode(), Probe(model, needed_layers(run.objectives)) as probe:
        return slot_scorer(run.objectives, model.device)(probe(state.transforms.whole(images))).cpu()


def finish(model: VisionModel, run: BatchRun, state: BatchState, slots: Sequence[int] | None = None) -> RenderResult:
    """A batch's result: its pictures, their objective per step and at the end, the snapshots.

    Args:
        model: the network.
        run: the batch and its settings.
        state: the batch's state after its last step.
        slots: the slots' objectives in the render's list (default: 0 .. B-1).
    Returns:
        The batch's result.
    """
    with torch.no_grad():
        final_image = run.image()
        final = whole_scores(model, run, state, final_image)
        pictures = _shown(run.recipe, final_image)
        saved = torch.stack([p.to_tensor() for p in pictures]).to(final_image.device)
        picture_final = whole_scores(model, run, state, saved)
    if state.importance is not None:
        for picture, values in zip(pictures, state.importance.cpu()):
            picture.importance = normalize_importance(values)
    history = torch.stack(state.history).cpu() if state.history else torch.empty(0, run.size)
    return RenderResult(pictures, final_image.detach().cpu(), history, final, picture_final, state.snapshots,
                        list(slots) if slots is not None else list(range(run.size)))
