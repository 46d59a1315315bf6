"""Pictures of a layer's units as an atlas renders them, at any number of steps: for a front end
that shows a layer's units quickly before its atlas renders them at the recipe's steps."""
from __future__ import annotations

from typing import Sequence

from convscope.engine.objectives import channel
from convscope.engine.recipe_settings import DEFAULT_RECIPE
from convscope.engine.recipes import Recipe, get_recipe
from convscope.errors import OutOfRangeError
from convscope.io.picture import Picture
from convscope.jobs.atlas.builder import BatchJob, BatchWatch, render_batch
from convscope.models import VisionModel, as_model
from convscope.runtime.progress import Progress, shows_progress


@shows_progress("unit pictures", "unit-step")
def unit_pictures(model: VisionModel | str, layer: str, units: Sequence[int], *,
                  recipe: Recipe | str = DEFAULT_RECIPE, seed: int = 0, progress: Progress | None = None,
                  watch: BatchWatch | None = None) -> tuple[list[Picture], list[float]]:
    """The pictures of ``units`` of ``layer``, rendered together in one batch: unit u starts from
    the noise of ``seed + u`` and sees the transforms of ``seed``, as in an atlas of that seed,
    so a unit's picture is the one an atlas rendered with ``recipe`` holds (at ``recipe``'s
    steps, whichever units share its batch).

    Args:
        model: a VisionModel or a model's name.
        layer: the layer's name.
        units: its units, in the order of the result.
        recipe: a Recipe or a recipe's name (with the steps wanted).
        seed: the seed of the noise and the transforms.
        progress: called with (unit-steps done, unit-steps in all).
        watch: called at every step with (layer, units, the pictures as they stand, (B, 3, H, W)
            in [0, 1]); it must not change them.
    Returns:
        The pictures, and the activation each reached.
    Raises:
        UnknownNameError: an unknown layer.
        OutOfRangeError: no units, or a unit beyond the layer's.
    """
    built, rec = as_model(model), get_recipe(recipe)
    if not units:
        raise OutOfRangeError("give at least one unit")
    for unit in units:
        channel(layer, unit).validate(built, rec.view_hw(built.input_size))
    return render_batch(built, BatchJob(built.layer(layer).name, tuple(units)), rec, seed, progress, watch)
