"""Recipes: named, documented sets of render defaults that any option can override."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Sequence

from convscope.errors import OutOfRangeError, unknown


@dataclass(frozen=True)
class Recipe:
    """How to render: image representation, optimizer, transforms and display.

    param:       "gray-noise" (the article's start, 0..255 pixels), "pixel", "spectral", or
                 "maco" (only the phase of the spectrum; the amplitude is a natural photo's)
    decorrelate: map colours through the square root of ImageNet's colour correlation
    sigmoid:     squash the image into [0, 1] with a sigmoid
    decay:       spectral images scale frequency f by 1/f^decay
    optimizer:   "normalized-ascent" (gradient / (sqrt(mean(g^2)) + 1e-5), per image), "adam" or "nadam"
    lr:          the step size of the optimizer
    steps, size: optimization steps; image size in pixels, a side (128) or (height, width)
    transforms:  "none", "lucid" (pad 12, jitter 8, scale 0.9-1.1, rotate -10..10, jitter 4, in
                 one resampling whose centre the network sees at the picture's size), or
                 "crops" (``views`` random crops per step, each resized to ``view_size``)
    deprocess:   "none" or "keras2016" (centre, std 0.1, +0.5, clip)
    views:       crops per unit and step ("crops" only); a unit's objective is their mean
    view_size:   the side the crops are resized to, in pixels (0: the network's input size)
    crop_scale:  a crop's side as a fraction of the image's (drawn from 0.8x to 1.2x of it)
    crop_scale_end: if set, the crop scale at the last step: it moves linearly from
                 ``crop_scale`` over the steps (coarse to fine)
    noise:       Gaussian noise of this std, plus uniform noise of this width, on each crop
    spectrum:    the amplitude spectrum file of "maco" ("": the one that ships with convscope)
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
    views: int = 1
    view_size: int = 0
    crop_scale: float = 1.0
    noise: float = 0.0
    spectrum: str = ""
    crop_scale_end: float | None = None

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
    "param": ("gray-noise", "pixel", "spectral", "maco"),
    "optimizer": ("normalized-ascent", "adam", "nadam"),
    "transforms": ("none", "lucid", "crops"),
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
    "maco": Recipe(
        name="maco", param="maco", decorrelate=True, sigmoid=True, optimizer="nadam", lr=1.0, steps=128,
        size=256, transforms="crops", deprocess="none", views=4, view_size=128, crop_scale=0.8, noise=0.05),
}
DEFAULT_RECIPE = "lucid"


def get_recipe(recipe: "str | Recipe", **options: object) -> Recipe:
    """The recipe called ``recipe`` (or the Recipe given), with options overridden."""
    if isinstance(recipe, str):
        if recipe not in RECIPES:
            raise unknown("recipe", recipe, RECIPES)
        recipe = RECIPES[recipe]
    return recipe.with_options(**options)
