"""Recipes: named builders of the loop's parts (a parameterization, transforms, an optimizer
and a display), with the number of steps and the picture's size.

The three built-in recipes (``keras2016``, ``lucid``, ``maco``) are built by
``recipe_from_settings`` from documented settings that any option can override. A recipe of
the user's own is any ``Recipe`` built from objects (see the README's CPPN example), in
Python or on the command line as ``path/to/file.py:make_recipe``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Mapping, Sequence

import torch

from convscope.engine.optimizers import OptimizerBuilder, optimizer_builder
from convscope.engine.param import ImageBuilder, ParamStyle, image_param
from convscope.engine.spectrum import spectrum_for
from convscope.engine.transforms import Crops, TransformsBuilder, lucid_transforms, no_transforms
from convscope.errors import OutOfRangeError, unknown
from convscope.io.picture import deprocess_keras2016
from convscope.io.user_code import call_user_function, is_user_spec

Display = Callable[[torch.Tensor], torch.Tensor]
"""Images (B, 3, H, W) in [0, 1] to the pictures shown, also in [0, 1]."""

CROP_OPTIONS = ("views", "view_size", "crop_scale", "crop_scale_end", "noise")


@dataclass(frozen=True)
class Uses:
    """What was measured about a recipe, so that the jobs that use it need no table of recipe
    names: each value was chosen from the benchmark named beside it (``python -m benchmarks``).

    Attributes:
        halving_from: the fewest steps from which a grid's successive halving keeps at least
            95% of a full run's best tiles at the same median activation (None: grids render
            in full; ``benchmarks/halving_side.py``).
        class_steps: the steps of a class picture where the recipe's own are for filters (None:
            the recipe's).
        class_crop_scale_end: the crop scale a class picture shrinks to over the steps (None:
            the recipe's; ``benchmarks/modern_side.py``).
    """

    halving_from: int | None = None
    class_steps: int | None = None
    class_crop_scale_end: float | None = None


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


def size_hw(size: int | Sequence[int]) -> tuple[int, int]:
    """(height, width) from a side or a (height, width) pair."""
    if isinstance(size, int):
        return size, size
    values = tuple(int(v) for v in size)
    if len(values) != 2:
        raise OutOfRangeError(f"a size is one number or (height, width), got {size!r}")
    return values[0], values[1]


def size_text(size: int | Sequence[int]) -> str:
    """'128' or '192x128' (width x height)."""
    h, w = size_hw(size)
    return str(h) if h == w else f"{w}x{h}"


@dataclass(frozen=True)
class Settings:
    """The settings of the built-in recipes; every one is an option of ``with_options``.

    param:       "gray-noise" (the article's start, 0..255 pixels), "pixel", "spectral", or
                 "maco" (only the phase of the spectrum; the amplitude is a natural photo's)
    decorrelate: map colours through the square root of ImageNet's colour correlation
    sigmoid:     squash the image into [0, 1] with a sigmoid
    optimizer:   "normalized-ascent" (gradient / (sqrt(mean(g^2)) + 1e-5), per image), "adam" or "nadam"
    lr:          the step size of the optimizer
    steps, size: optimization steps; image size in pixels, a side (128) or (height, width)
    transforms:  "none", "lucid" (pad 12, jitter 8, scale 0.9-1.1, rotate -10..10, jitter 4, in
                 one resampling whose centre the network sees at the picture's size), or
                 "crops" (``views`` random crops per step, each resized to ``view_size``)
    deprocess:   "none" or "keras2016" (centre, std 0.1, +0.5, clip)
    decay:       spectral images scale frequency f by 1/f^decay
    views:       crops per unit and step ("crops" only); a unit's objective is their mean
    view_size:   the side the crops are resized to, in pixels (0: the network's input size)
    crop_scale:  a crop's side as a fraction of the image's (drawn from 0.8x to 1.2x of it)
    noise:       Gaussian noise of this std, plus uniform noise of this width, on each crop
    spectrum:    the amplitude spectrum file of "maco" ("": the one that ships with convscope)
    crop_scale_end: if set, the crop scale at the last step: it moves linearly from
                 ``crop_scale`` over the steps (coarse to fine)
    """

    param: str
    decorrelate: bool
    sigmoid: bool
    optimizer: str
    lr: float
    steps: int
    size: int | tuple[int, int]
    transforms: str
    deprocess: str
    decay: float = 1.0
    views: int = 1
    view_size: int = 0
    crop_scale: float = 1.0
    noise: float = 0.0
    spectrum: str = ""
    crop_scale_end: float | None = None

    def check(self) -> None:
        """Raises OutOfRangeError for a setting out of its range."""
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise OutOfRangeError(f"recipe {name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.lr <= 0:
            raise OutOfRangeError(f"the step size (lr) must be positive, got {self.lr}")
        if self.views < 1 or (self.views > 1 and self.transforms != "crops"):
            raise OutOfRangeError(f"views must be 1, or more with transforms crops (the maco recipe), got {self.views}")
        if not 0 < self.crop_scale <= 1:
            raise OutOfRangeError(f"crop_scale is a crop's side over the image's: from 0 to 1, got {self.crop_scale}")
        if self.crop_scale_end is not None and not 0 < self.crop_scale_end <= 1:
            raise OutOfRangeError(f"crop_scale_end is a crop's side over the image's: from 0 to 1, got "
                                  f"{self.crop_scale_end}")
        if not 0 <= self.noise <= 1:
            raise OutOfRangeError(f"noise is a std on 0..1 pixels: from 0 to 1, got {self.noise}")
        if self.view_size < 0:
            raise OutOfRangeError(f"view_size must be 0 (the network's input size) or positive, got {self.view_size}")


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


CHOICES = {
    "param": ("gray-noise", "pixel", "spectral", "maco"),
    "optimizer": ("normalized-ascent", "adam", "nadam"),
    "transforms": ("none", "lucid", "crops"),
    "deprocess": ("none", "keras2016"),
}
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


RECIPES = {
    # keras2016's 20 steps are for filters: normalized ascent from gray noise reached p >= 0.999
    # within 7-13 steps for class 65 and 17-36 for class 18 (seeds 0-4), so a class takes 60.
    "keras2016": replace(recipe_from_settings(
        "keras2016", param="gray-noise", decorrelate=False, sigmoid=False,
        optimizer="normalized-ascent", lr=1.0, steps=20, size=128, transforms="none", deprocess="keras2016"),
        uses=Uses(class_steps=60)),
    # halving kept 97% of a full lucid grid's best 64 of 200 at efficientnet-lite0's head from
    # 128 steps on (89% with the first rule; keras2016 kept 80%)
    "lucid": replace(recipe_from_settings(
        "lucid", param="spectral", decorrelate=True, sigmoid=True,
        optimizer="adam", lr=0.05, steps=512, size=128, transforms="lucid", deprocess="none"),
        uses=Uses(halving_from=128)),
    # class pictures with crops shrinking from 0.8 to 0.2 of the picture (coarse to fine):
    # efficientnet-lite2 then ranked the six benchmark classes first (median rank 1, against 84
    # with constant crops of 0.8)
    "maco": replace(recipe_from_settings(
        "maco", param="maco", decorrelate=True, sigmoid=True, optimizer="nadam", lr=1.0, steps=128,
        size=256, transforms="crops", deprocess="none", views=4, view_size=128, crop_scale=0.8, noise=0.05),
        uses=Uses(class_crop_scale_end=0.2)),
}
DEFAULT_RECIPE = "lucid"


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
