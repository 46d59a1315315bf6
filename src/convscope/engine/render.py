"""The one loop over many units: checks, then the units in batches, stage by stage (see
``convscope.engine.batch`` for one batch's steps)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from convscope.engine.batch import BatchRun, RenderResult, Stop, advance, finish, needed_layers, start_batch, whole_scores
from convscope.engine.compiled import compile_for, compiled_network
from convscope.engine.halving import Halving
from convscope.engine.memory import check_render_memory
from convscope.engine.objective_text import as_objective
from convscope.engine.objectives import Objective, unit_objective
from convscope.engine.recipe_options import RENDER_BATCH
from convscope.engine.recipe_settings import DEFAULT_RECIPE
from convscope.engine.recipes import Recipe, get_recipe
from convscope.engine.slots import SlotState, per_slot_entries, split_slots
from convscope.errors import ConvscopeError, OutOfRangeError
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
from convscope.runtime.heap import reused_memory
from convscope.runtime.progress import Progress
from convscope.runtime.spec import Spec, option, takes


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


@dataclass
class Stages:
    """A render's objectives run in batches, stage by stage: one stage to the last step, or,
    with ``select``, a stage to each of its cuts, after which the units far behind are dropped
    and the others regrouped into full batches."""

    objectives: list[Objective]
    shared: Objective | None
    seeds: list[int]
    init: torch.Tensor | None
    recipe: Recipe
    transform_seed: int
    batch: int
    select: Halving | None

    def run(self, model: VisionModel, progress: Progress | None, stop: Stop | None,
            thresholds: Sequence[int]) -> RenderResult:
        """Renders every stage; returns the pictures of the units that reached the end."""
        recipe, count = self.recipe, len(self.objectives)
        cuts = self.select.cut_steps(recipe.steps) if self.select is not None else []
        per_slot = per_slot_entries(recipe.image, recipe.hw, model.device) if cuts else set()
        compile = compile_for(model, recipe.steps)
        active, dropped, parts = list(range(count)), [], []
        saved: dict[int, SlotState] = {}
        done, begin = 0, 0
        for until, keep in [*cuts, (recipe.steps, None)]:
            total = done + self._remaining(len(active), begin, cuts)
            cut_slots, cut_scores = [], []
            for start in range(0, len(active), self.batch):
                indices = active[start:start + self.batch]
                # a last batch of another size runs eagerly rather than compiling a new shape
                compile_chunk = compile and not compiled_network(model).failed and len(indices) == min(self.batch, count)
                run = BatchRun(self.shared if self.shared is not None else [self.objectives[i] for i in indices],
                               self._image(model, indices), len(indices), recipe, self.transform_seed, progress,
                               done, total, stop, thresholds, compile_chunk)
                state = start_batch(model, run, [saved[i] for i in indices] if begin else ())
                advance(model, run, state, until)
                done += (until - begin) * len(indices)
                if keep is None:
                    parts.append(finish(model, run, state, indices))
                    continue
                cut_scores.append(whole_scores(model, run, state, run.image().detach()))
                cut_slots += split_slots(run.image, state.optimizer, per_slot, indices, torch.stack(state.history),
                                         state.importance, state.snapshots)
            if keep is not None and self.select is not None:
                activations = torch.cat(cut_scores)
                chosen = self.select.choose(activations, torch.stack([s.history for s in cut_slots], dim=1).cpu(),
                                            keep, begin)
                saved = {cut_slots[p].index: cut_slots[p] for p in chosen}
                dropped += [{"index": slot.index, "step": until, "activation": float(activations[p])}
                            for p, slot in enumerate(cut_slots) if slot.index not in saved]
                active = list(saved)
            begin = until
        result = RenderResult.concat(parts)
        result.dropped = dropped
        return result

    def _image(self, model: VisionModel, indices: list[int]) -> torch.nn.Module:
        """The parameterization of the slots ``indices`` (their seeds, their photos)."""
        init = None if self.init is None else self.init[indices]
        return self.recipe.image([self.seeds[i] for i in indices], self.recipe.hw, model.device, init)

    def _remaining(self, active: int, begin: int, cuts: list[tuple[int, int]]) -> int:
        """The unit-steps left from step ``begin`` with ``active`` units, if each later cut
        keeps as many as it ranks."""
        steps, left = 0, active
        for until, keep in [*[c for c in cuts if c[0] > begin], (self.recipe.steps, None)]:
            steps += (until - begin) * left
            left, begin = (min(left, keep) if keep is not None else left), until
        return steps




@dataclass(frozen=True)
class LoopSpec(Spec):
    """How the one loop runs its slots: their seeds, the transforms' seed, the batch, the steps
    whose pictures are kept, and which units it drops on the way."""

    seeds: int | Sequence[int] = option(0, "one seed per slot, or the first of consecutive seeds")
    transform_seed: int = option(0, "the seed of the transforms' draws")
    batch: int = option(RENDER_BATCH, "slots optimized together", minimum=1)
    thresholds: Sequence[int] = option((), "steps after which the pictures are also kept (result.snapshots)")
    select: Halving | None = option(None, "drops the units far behind at a few cuts (see Halving); None renders all")


@takes(LoopSpec)
def render(model: VisionModel, objectives: Objective | str | Sequence[Objective | str],
           recipe: Recipe | str = DEFAULT_RECIPE, *, init: torch.Tensor | None = None, progress: Progress | None = None,
           stop: Stop | None = None, loop: LoopSpec | None = None, **options: Any) -> RenderResult:
    """Pictures that maximize objectives: the one loop (see the module docstring).

    Slot i optimizes objective i (or, for one objective, each seed gets a picture). Slot i
    starts from noise drawn with ``seeds[i]`` and all slots see the same transforms, drawn
    with ``transform_seed``, so a unit's picture does not depend on which batch it was in.

    Args:
        model: the network.
        objectives: an Objective or its text, or a list of them.
        recipe: a Recipe or a recipe's name.
        init: (N, 3, H, W) in [0, 1] to start from photos instead of noise.
        progress: called with (unit-steps done, unit-steps in all).
        stop: can end each batch early (see ``Stop``).
        loop: how the loop runs (``LoopSpec``); ``options`` are its fields by keyword, on top of it.
    Returns:
        The pictures, each objective per step and at the end, and the snapshots; with
        ``select``, only of the units that reached the end (``result.slots``).
    Raises:
        UnknownNameError: an objective reading an unknown layer, or an option the loop does not take.
        OutOfRangeError: a unit, size or option out of range, or a render that cannot fit in memory.
    """
    loop = LoopSpec.of(loop, **options)
    recipe = get_recipe(recipe)
    objectives = as_objective(objectives) if isinstance(objectives, (Objective, str)) else \
        [as_objective(o) for o in objectives]
    thresholds = sorted(set(int(t) for t in loop.thresholds))
    if thresholds and not (thresholds[0] >= 1 and thresholds[-1] <= recipe.steps):
        raise OutOfRangeError(f"thresholds must be steps from 1 to {recipe.steps}, got {thresholds}")
    count = 1 if isinstance(objectives, Objective) else len(objectives)
    seeds = [loop.seeds + i for i in range(count)] if isinstance(loop.seeds, int) else list(loop.seeds)
    objs = [objectives] * len(seeds) if isinstance(objectives, Objective) else [as_objective(o) for o in objectives]
    if len(objs) != len(seeds):
        raise ValueError(f"{len(objs)} objectives but {len(seeds)} seeds")
    if init is not None:
        recipe = recipe.with_options(size=tuple(init.shape[-2:]))
    seen = recipe.view_hw(model.input_size)
    validate(model, objs, seen)
    check_render_memory(model, needed_layers(objs), seen, min(loop.batch, len(objs)) * recipe.views)
    check_forward(model, needed_layers(objs), seen, "view_size" if recipe.transforms.resizes else "size")
    if loop.select is not None and stop is not None:
        raise ValueError("a render that drops units (select) cannot also stop early (stop)")
    shared = objectives if isinstance(objectives, Objective) else None
    staged = Stages(objs, shared, seeds, init, recipe, loop.transform_seed, loop.batch, loop.select)
    with reused_memory(model.device):
        return staged.run(model, progress, stop, thresholds)


def render_units(model: VisionModel, layer: str, units: Sequence[int], recipe: Recipe | str = DEFAULT_RECIPE, *,
                 seed: int = 0, progress: Progress | None = None, stop: Stop | None = None,
                 **options: Any) -> RenderResult:
    """Pictures of units of one layer (see ``unit_objective``): unit u starts from noise drawn with
    ``seed + u`` and every unit sees the transforms drawn with ``seed``, so a unit's picture does
    not depend on which units are rendered with it.

    Args:
        model: the network.
        layer: the layer's name.
        units: the units (channels) to render, in the order of the result.
        recipe: a Recipe or a recipe's name.
        seed: the seed of the noise and the transforms.
        progress: called with (unit-steps done, unit-steps in all).
        stop: called at every step (see ``render``).
        options: the loop's other options (``LoopSpec``: batch, thresholds, select).
    Returns:
        One picture per unit (per unit kept, with ``select``), with their activations (see ``render``).
    """
    return render(model, [unit_objective(model, layer, u) for u in units], recipe, progress=progress, stop=stop,
                  loop=LoopSpec.of(seeds=[seed + u for u in units], transform_seed=seed, **options))
