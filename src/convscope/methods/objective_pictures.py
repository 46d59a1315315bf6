"""Pictures of any objective, as the ``render`` command makes them: one objective rendered from
several seeds on the one loop."""
from __future__ import annotations

from typing import Any

from convscope.engine.batch import RenderResult
from convscope.engine.objectives import Objective
from convscope.engine.render import render
from convscope.methods.specs import RenderSpec
from convscope.models import VisionModel, as_model
from convscope.runtime.progress import Progress, shows_progress
from convscope.runtime.spec import takes


@shows_progress("render", "unit-step")
@takes(RenderSpec)
def objective_pictures(model: VisionModel | str, objective: Objective | str, *, progress: Progress | None = None,
                       spec: RenderSpec | None = None, **options: Any) -> RenderResult:
    """``count`` pictures of one objective, from the seeds ``seed``, ``seed + 1``, ...

    Args:
        model: a VisionModel or a model's name.
        objective: an Objective or its text ("block8:12 - 0.5*block8:40").
        progress: called with (unit-steps done, unit-steps in all).
        spec: the options as a ``RenderSpec`` (keyword options override its values).
        options: any option of ``RenderSpec``, by name (listed below).
    Returns:
        The pictures, the objective per step and at the end, and the snapshots at ``thresholds``.
    Raises:
        UnknownNameError: an objective reading an unknown layer.
        OutOfRangeError: a unit or option out of range.
    """
    spec = RenderSpec.of(spec, **options)
    return render(as_model(model), objective, spec.resolved, seeds=[spec.seed + i for i in range(spec.count)],
                  transform_seed=spec.seed, batch=spec.batch, thresholds=spec.thresholds, progress=progress)
