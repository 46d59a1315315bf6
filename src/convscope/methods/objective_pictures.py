"""Pictures of any objective, as the ``render`` command makes them: one objective rendered from
several seeds on the one loop."""
from __future__ import annotations

from typing import Any, Callable

import torch

from convscope.engine.batch import RenderResult, Stop
from convscope.engine.objective_text import as_objective
from convscope.engine.objectives import Objective
from convscope.engine.render import render
from convscope.methods.specs import RenderSpec
from convscope.models import VisionModel, as_model
from convscope.runtime.progress import Progress, shows_progress
from convscope.runtime.spec import takes

Watch = Callable[[torch.Tensor, torch.Tensor], None]


@shows_progress("render", "unit-step")
@takes(RenderSpec)
def objective_pictures(model: VisionModel | str, objective: Objective | str, *, progress: Progress | None = None,
                       watch: Watch | None = None, spec: RenderSpec | None = None,
                       **options: Any) -> RenderResult:
    """``count`` pictures of one objective, from the seeds ``seed``, ``seed + 1``, ...

    Args:
        model: a VisionModel or a model's name.
        objective: an Objective or its text ("block8:12 - 0.5*block8:40").
        progress: called with (unit-steps done, unit-steps in all).
        watch: called at every step with the pictures as they stand, (N, 3, H, W) in [0, 1], and
            the objective on that step's views of each, (N,) (to show them improve; it must not
            change them).
        spec: the options as a ``RenderSpec`` (keyword options override its values).
        options: any option of ``RenderSpec``, by name (listed below).
    Returns:
        The pictures, the objective per step and at the end, and the snapshots at ``thresholds``.
    Raises:
        UnknownNameError: an objective reading an unknown layer.
        OutOfRangeError: a unit or option out of range.
    """
    spec = RenderSpec.of(spec, **options)
    objective = as_objective(objective)
    return render(as_model(model), objective, spec.resolved, seeds=[spec.seed + i for i in range(spec.count)],
                  transform_seed=spec.seed, batch=spec.batch, thresholds=spec.thresholds, progress=progress,
                  stop=_watching(watch, objective) if watch is not None else None)


def _watching(watch: Watch, objective: Objective) -> Stop:
    """A stop hook that shows ``watch`` the pictures and their objective at every step and never
    stops the render."""
    def never_stop(acts: dict[str, torch.Tensor], images: torch.Tensor) -> bool:
        values = objective(acts).detach()
        rows = next(iter(acts.values())).shape[0]
        values = values.expand(rows) if values.dim() == 0 else values
        watch(images, values.float().reshape(len(images), -1).mean(dim=1).cpu())
        return False
    return never_stop
