"""The recipe of a command's spec: a Recipe or a recipe's name, with the picture's size and
steps on top, resolved once when the spec is made. Torch loads only then, so that a front end
can list the specs without it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from convscope.engine.recipe_settings import DEFAULT_RECIPE
from convscope.runtime.spec import Spec, option

if TYPE_CHECKING:
    from convscope.engine.recipes import Recipe

RENDER_BATCH = 32  # slots optimized together unless a caller says otherwise


def resolve_recipe(recipe: "Recipe | str", **options: object) -> "Recipe":
    """The recipe of a spec's option (see ``convscope.engine.recipes.get_recipe``)."""
    from convscope.engine.recipes import get_recipe  # torch: loaded when a spec is made, not to list the options

    return get_recipe(recipe, **options)


@dataclass(frozen=True)
class RecipeOptions(Spec):
    """A spec's recipe options; after the spec is made, ``recipe`` is the resolved Recipe (with
    ``size`` and ``steps`` applied)."""

    recipe: Recipe | str = option(DEFAULT_RECIPE, "how the pictures are rendered: a Recipe or a recipe's name",
                                  flag=False)
    size: int | tuple[int, int] | None = option(None, "the pictures' size (default: the recipe's)", flag=False)
    steps: int | None = option(None, "optimization steps (default: the recipe's)", minimum=1, flag=False)

    def check(self) -> None:
        """Resolves the recipe once."""
        object.__setattr__(self, "recipe", resolve_recipe(self.recipe, size=self.size, steps=self.steps))

    @property
    def resolved(self) -> Recipe:
        """The recipe, typed as resolved."""
        return cast("Recipe", self.recipe)
