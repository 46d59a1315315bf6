"""The recipe of a command's spec: a Recipe or a recipe's name, with the picture's size and
steps on top, resolved once when the spec is made."""
from __future__ import annotations

from dataclasses import dataclass

from convscope.engine.recipes import DEFAULT_RECIPE, Recipe, get_recipe
from convscope.runtime.spec import Spec, option


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
        object.__setattr__(self, "recipe", get_recipe(self.recipe, size=self.size, steps=self.steps))

    @property
    def resolved(self) -> Recipe:
        """The recipe, typed as resolved."""
        assert isinstance(self.recipe, Recipe)
        return self.recipe
