"""Recipes: named builders of the loop's parts (a parameterization, transforms, an optimizer
and a display), with the number of steps and the picture's size.

The three built-in recipes (``keras2016``, ``lucid``, ``maco``) are built by
``recipe_from_settings`` from documented settings that any option can override. A recipe of
the user's own is any ``Recipe`` built from objects (see the README's CPPN example), in
Python or on the command line as ``path/to/file.py:make_recipe``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable, Mapping, Sequence

import torch

from convscope.engine.optimizers import OptimizerBuilder, optimizer_builder
from convscope.engine.param import ImageBuilder, ParamStyle, image_param
from convscope.engine.recipe_settings import RECIPE_SETTINGS, RECIPE_USES, Settings, Uses, size_hw
from convscope.engine.spectrum import spectrum_for
from convscope.engine.transforms import Crops, TransformsBuilder, lucid_transforms, no_transforms
from convscope.errors import OutOfRangeError, unknown
from convscope.io.picture import deprocess_keras2016
from convscope.io.user_code import call_user_function, is_user_spec

Display = Callable[[torch.Tensor], torch.Tensor]
"""Images (B, 3, H, W) in [0, 1] to the pictures shown, also in [0, 1]."""

CROP_OPTIONS = ("views", "view_size", "crop_scale", "crop_scale_end", "noise")


@dataclass(frozen=True)
class Recipe:
    """How to render: the loop's parts, its number of steps and the picture's size.

    Attributes:
        name: the recipe's name, shown in sidecars and messages.
        steps: optimization steps.
        size: the picture's size in pixels, a side (128) or (height, width).
        image: builds the parameterization of a batch (see ``convscope.engine.param.ImageBuilder``).
        transforms: builds the random views the network sees at each step (see
            ``convscope.engine.transforms.TransformsBuilder``).
        optimizer: builds the optimizer over the parameterization's parameters.
        display: how the optimized images are shown (None: as they are).
        settings: the settings the recipe was built from (JSON-ready; sidecars record them).
        rebuild: the builder that makes this recipe from ``settings`` with options changed, or
            None for a recipe built from objects, whose only options are ``steps`` and ``size``.
        uses: what was measured about the recipe (kept by ``with_options``, not by ``with_parts``).
    """

    name: str
    steps: int
    size: int | tuple[int, int]
    image: ImageBuilder
    transforms: TransformsBuilder
    optimizer: OptimizerBuilder
    display: Display | None = None
    settings: Mapping[str, Any] = field(default_factory=dict, compare=False)
    rebuild: Callable[..., "Recipe"] | None = field(default=None, compare=False, repr=False)
    uses: Uses = field(default_factory=Uses, compare=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.size, (tuple, list)):
            h, w = size_hw(self.size)
            object.__setattr__(self, "size", h if h == w else (h, w))
        if self.steps <= 0:
            raise OutOfRangeError(f"steps must be positive, got {self.steps}")
        if min(self.hw) <= 0:
            raise OutOfRangeError(f"size must be positive, got {self.size}")

    @property
    def hw(self) -> tuple[int, int]:
        """(height, width) of the pictures."""
        return size_hw(self.size)

    @property
    def views(self) -> int:
        """Views the network sees of each picture per step."""
        return self.transforms.views

    def with_options(self, **options: object) -> "Recipe":
        """A copy with every option that is not None replaced.

        Args:
            options: ``steps``, ``size``, or (for the built-in recipes) any of their settings.
        Returns:
            The new recipe; this one is unchanged.
        Raises:
            UnknownNameError: an option the recipe does not take.
            OutOfRangeError: a value out of its range, crop options for a recipe without crops,
                or a spectrum for a recipe that is not parameterized by its phase (maco).
        """
        chosen = {k: v for k, v in options.items() if v is not None}
        if not chosen:
            return self
        if self.rebuild is not None:
            self._check_applies(chosen)
            return replace(self.rebuild(name=self.name, **{**self.settings, **chosen}), uses=self.uses)
        for key in chosen:
            if key not in ("steps", "size"):
                raise unknown(f"option of recipe {self.name}", key, ["steps", "size"])
        return replace(self, **chosen)  # type: ignore[arg-type]

    def _check_applies(self, chosen: Mapping[str, object]) -> None:
        """Refuses options that would change nothing in this recipe."""
        for option in CROP_OPTIONS:
            if option in chosen and self.settings.get("transforms") != "crops":
                raise OutOfRangeError(f"{{{option}}} sets the crops of {{recipe}} maco; recipe {self.name} takes no "
                                      "crops", options=[option, "recipe"])
        if "spectrum" in chosen and self.settings.get("param") != "maco":
            raise OutOfRangeError(f"{{spectrum}} is for {{recipe}} maco (a fixed amplitude spectrum), not {self.name}",
                                  options=["spectrum", "recipe"])

    def with_parts(self, name: str, **parts: object) -> "Recipe":
        """A recipe of the user's own made from this one: ``parts`` (``image``, ``transforms``,
        ``optimizer``, ``display``) replaced. Its options are then ``steps`` and ``size``.

        Args:
            name: the new recipe's name.
            parts: the parts to replace.
        Returns:
            The new recipe.
        """
        return replace(self, name=name, rebuild=None, uses=Uses(), **parts)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Any]:
        """The recipe as JSON-ready settings: its name, steps and size, and what it was built from."""
        values: dict[str, Any] = {"name": self.name, **self.settings, "steps": self.steps, "size": self.size}
        if self.rebuild is None:
            values.update({"image": _describe(self.image), "transforms": _describe(self.transforms),
                           "optimizer": _describe(self.optimizer)})
        return {key: values[key] for key in ["name", *self.settings, "steps", "size", *values] if key in values}

    def view_hw(self, model_input_size: int) -> tuple[int, int]:
        """(height, width) of what the network sees: the picture, or a view of it."""
        return self.transforms.view_hw(self.hw, model_input_size)

    def shown(self, images: torch.Tensor) -> torch.Tensor:
        """The images as the recipe shows them."""
        return images if self.display is None else self.display(images)


def _describe(part: object) -> str:
    return getattr(part, "__name__", None) or repr(part)


@dataclass(frozen=True)
class StandardImage:
    """The built-in parameterizations by name (see ``convscope.engine.param.image_param``); the
    maco one takes its fixed amplitude from ``spectrum`` ("": the one that ships)."""

    kind: str
    decorrelate: bool
    sigmoid: bool
    decay: float = 1.0
    spectrum: str = ""

    def __call__(self, seeds: Sequence[int], hw: tuple[int, int], device: torch.device,
                 init: torch.Tensor | None = None) -> torch.nn.Module:
        magnitude = spectrum_for(self.spectrum).resized(*hw) if self.kind == "maco" else None
        return image_param(self.kind, seeds, hw, style=ParamStyle(self.decorrelate, self.sigmoid, self.decay),
                           init=init, magnitude=magnitude, device=device)


DISPLAYS: dict[str, Display | None] = {"none": None, "keras2016": deprocess_keras2016}


def recipe_from_settings(name: str, **settings: Any) -> Recipe:
    """The recipe ``name`` built from ``settings`` (the fields of ``Settings``): the one place
    where a setting's name chooses a part.

    Raises:
        UnknownNameError: a setting that does not exist.
        OutOfRangeError: a value out of its range.
    """
    names = [f.name for f in fields(Settings)]
    for key in settings:
        if key not in names:
            raise unknown("recipe option", key, names)
    s = Settings(**settings)
    s.check()
    steps, size = s.steps, s.size
    image = StandardImage(s.param, s.decorrelate, s.sigmoid, s.decay, s.spectrum)
    if s.transforms == "crops":
        transforms: TransformsBuilder = Crops(s.views, s.view_size, s.crop_scale, s.noise, s.crop_scale_end)
    else:
        transforms = lucid_transforms if s.transforms == "lucid" else no_transforms
    values = {f.name: getattr(s, f.name) for f in fields(Settings)}
    return Recipe(name=name, steps=steps, size=size, image=image, transforms=transforms,
                  optimizer=optimizer_builder(s.optimizer, s.lr), display=DISPLAYS[s.deprocess],
                  settings=values, rebuild=recipe_from_settings)


RECIPES = {name: replace(recipe_from_settings(name, **asdict(settings)), uses=RECIPE_USES[name])
           for name, settings in RECIPE_SETTINGS.items()}
"""The built-in recipes, built from ``RECIPE_SETTINGS``."""


def get_recipe(recipe: "str | Recipe", **options: object) -> Recipe:
    """A recipe by name, by ``path/to/file.py:make_recipe`` (a function of the user's that
    returns a Recipe), or the Recipe given; with options overridden.

    Args:
        recipe: a built-in recipe's name, a user's recipe function, or a Recipe.
        options: see ``Recipe.with_options``.
    Returns:
        The recipe.
    Raises:
        UnknownNameError: no recipe of that name.
        UserCodeError: the user's file or function fails, or returns something else than a Recipe.
    """
    if isinstance(recipe, str):
        if is_user_spec(recipe):
            made = call_user_function(recipe, "recipe")
            if not isinstance(made, Recipe):
                from convscope.io.user_code import UserCodeError

                raise UserCodeError(f"{recipe}() returned {type(made).__name__}; it must return a "
                                    "convscope.Recipe")
            recipe = made
        elif recipe not in RECIPES:
            raise unknown("recipe", recipe, RECIPES)
        else:
            recipe = RECIPES[recipe]
    return recipe.with_options(**options)
