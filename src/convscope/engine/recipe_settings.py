"""The built-in recipes' settings, their names and what was measured about them: plain values,
so that a front end can list the recipes (``--help``) without building one (see
``convscope.engine.recipes``, which builds them)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from convscope.errors import OutOfRangeError


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


CHOICES = {
    "param": ("gray-noise", "pixel", "spectral", "maco"),
    "optimizer": ("normalized-ascent", "adam", "nadam"),
    "transforms": ("none", "lucid", "crops"),
    "deprocess": ("none", "keras2016"),
}


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


RECIPE_SETTINGS = {
    "keras2016": Settings(param="gray-noise", decorrelate=False, sigmoid=False, optimizer="normalized-ascent", lr=1.0,
                          steps=20, size=128, transforms="none", deprocess="keras2016"),
    "lucid": Settings(param="spectral", decorrelate=True, sigmoid=True, optimizer="adam", lr=0.05, steps=512, size=128,
                      transforms="lucid", deprocess="none"),
    "maco": Settings(param="maco", decorrelate=True, sigmoid=True, optimizer="nadam", lr=1.0, steps=128, size=256,
                     transforms="crops", deprocess="none", views=4, view_size=128, crop_scale=0.8, noise=0.05),
}
"""The built-in recipes by name, as settings."""

RECIPE_USES = {
    # keras2016's 20 steps are for filters: normalized ascent from gray noise reached p >= 0.999
    # within 7-13 steps for class 65 and 17-36 for class 18 (seeds 0-4), so a class takes 60.
    "keras2016": Uses(class_steps=60),
    # halving kept 97% of a full lucid grid's best 64 of 200 at efficientnet-lite0's head from
    # 128 steps on (89% with the first rule; keras2016 kept 80%)
    "lucid": Uses(halving_from=128),
    # class pictures with crops shrinking from 0.8 to 0.2 of the picture (coarse to fine):
    # efficientnet-lite2 then ranked the six benchmark classes first (median rank 1, against 84
    # with constant crops of 0.8)
    "maco": Uses(class_crop_scale_end=0.2),
}
"""What was measured about each built-in recipe."""

DEFAULT_RECIPE = "lucid"
