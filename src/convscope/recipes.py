"""Recipes: named, documented sets of render defaults that any option can override."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Sequence

from .errors import OutOfRangeError, unknown


@dataclass(frozen=True)
class Recipe:
    """How to render: image representation, optimizer, transforms and display.

    param:       "gray-noise" (the article's start, 0..255 pixels), "pixel" or "spectral"
    decorrelate: map colours through the square root of ImageNet's colour correlation
    sigmoid:     squash the image into [0, 1] with a sigmoid
    decay:       spectral images scale frequency f by 1/f^decay
    optimizer:   "normalized-ascent" (gradient / (sqrt(mean(g^2)) + 1e-5), per image) or "adam"
    lr:          the step size of either optimizer
    steps, size: optimization steps; image size in pixels, a side (128) or (height, width)
    transforms:  "none" or "lucid" (pad 12, jitter 8, scale 0.9-1.1, rotate -10..10, jitter 4)
    deprocess:   "none" or "keras2016" (centre, std 0.1, +0.5, clip)
    """

    name: str
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

    def with_options(self, **options: object) -> "Recipe":
        """A copy with every option that is not None replaced."""
        chosen = {k: v for k, v in options.items() if v is not None}
        names = {f.name for f in fields(self)}
        for key in chosen:
            if key not in names:
                raise unknown("recipe option", key, names)
        if isinstance(chosen.get("size"), (tuple, list)):
            h, w = size_hw(chosen["size"])
            chosen["size"] = h if h == w else (h, w)
        recipe = replace(self, **chosen)
        recipe.check()
        return recipe

    def check(self) -> None:
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise OutOfRangeError(f"recipe {name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.steps <= 0:
            raise OutOfRangeError(f"steps must be positive, got {self.steps}")
        if min(self.hw) <= 0:
            raise OutOfRangeError(f"size must be positive, got {self.size}")
        if self.lr <= 0:
            raise OutOfRangeError(f"the step size (lr) must be positive, got {self.lr}")

    @property
    def hw(self) -> tuple[int, int]:
        """(height, width) of the pictures."""
        return size_hw(self.size)

    def as_dict(self) -> dict:
        return asdict(self)


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


CHOICES = {
    "param": ("gray-noise", "pixel", "spectral"),
    "optimizer": ("normalized-ascent", "adam"),
    "transforms": ("none", "lucid"),
    "deprocess": ("none", "keras2016"),
}

RECIPES = {
    "keras2016": Recipe(
        name="keras2016", param="gray-noise", decorrelate=False, sigmoid=False,
        optimizer="normalized-ascent", lr=1.0, steps=20, size=128, transforms="none",
        deprocess="keras2016"),
    "lucid": Recipe(
        name="lucid", param="spectral", decorrelate=True, sigmoid=True,
        optimizer="adam", lr=0.05, steps=512, size=128, transforms="lucid", deprocess="none"),
}
DEFAULT_RECIPE = "lucid"


def get_recipe(recipe: "str | Recipe", **options: object) -> Recipe:
    """The recipe called ``recipe`` (or the Recipe given), with options overridden."""
    if isinstance(recipe, str):
        if recipe not in RECIPES:
            raise unknown("recipe", recipe, RECIPES)
        recipe = RECIPES[recipe]
    return recipe.with_options(**options)
