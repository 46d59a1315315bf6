"""The options of the picture and photo commands (``filter``, ``grid``, ``render``, ``dream``,
``classviz``, ``accentuate``, ``caricature``, ``explain``, ``classify``, ``saliency``, ``twins``,
``stats``), one spec each. Plain values: the command line lists them (``--help``) without
loading torch, and the methods read them whole.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from convscope.engine.recipe_options import RENDER_BATCH, RecipeOptions, resolve_recipe
from convscope.engine.recipe_settings import DEFAULT_RECIPE
from convscope.errors import OutOfRangeError
from convscope.methods.trust.verdict import (
    DEFAULT_FALSE_POSITIVE,
    FALSE_POSITIVE_HELP,
    JUDGE_HELP,
    TRIALS_HELP,
    check_false_positive,
)
from convscope.runtime.spec import Spec, option

if TYPE_CHECKING:
    from convscope.data.photo_sources import PhotosLike
    from convscope.engine.halving import Halving
    from convscope.engine.recipes import Recipe
    from convscope.models.base import VisionModel

SELECT_RULES = ("auto", "halving", "full")
ACCENTUATION_STRENGTH = 5.0  # chelsea toward magpie, 32 steps: block8 distance 0.82 against 1.10 unregularized
ACCENTUATION_STEPS = 128  # accentuate and caricature
TWIN_PICTURE_STEPS = 256  # steps of the pictures rendered for the twin sheet (when no atlas gives them)
FIRST_UNITS = 8  # units measured by default: the layer's first
DEFAULT_ANGLES = (90, 180, 270)


def thresholds_option() -> Any:
    """The option of the steps after which a render also keeps its pictures (filter, render)."""
    return option((), "also keep the pictures at these steps, e.g. 32,128,512 (written beside the output as "
                      "NAME.steps.png)", metavar="STEPS")


def steps_tuple(steps: Sequence[int | str]) -> tuple[int, ...]:
    """Steps given as any sequence of numbers, as a tuple of ints."""
    return tuple(int(step) for step in steps)


@dataclass(frozen=True)
class FilterSpec(RecipeOptions):
    """The options of ``filter``."""

    seed: int = option(0, "random seed: the picture starts from noise drawn with seed + the unit")
    thresholds: tuple[int, ...] = thresholds_option()

    def check(self) -> None:
        """Resolves the recipe once; keeps the thresholds as a tuple."""
        super().check()
        object.__setattr__(self, "thresholds", steps_tuple(self.thresholds))


@dataclass(frozen=True)
class GridSpec(RecipeOptions):
    """The options of ``grid``."""

    candidates: int = option(200, "the first filters to render", minimum=1)
    top: int = option(64, "the best filters to keep", minimum=1)
    batch: int = option(32, "filters optimized together", minimum=1)
    select: str | Halving = option("auto", "halving: drop the filters far behind after 1/8, 1/4 and 1/2 of the steps "
                                           "(the kept ones get the pictures of a full run; it can miss some of the best: "
                                           "see the documentation); full: render every candidate to the end; auto: "
                                           "halving with the lucid recipe at 128 steps or more, where it was measured "
                                           "to keep the best, full otherwise; or a Halving of one's own",
                                   choices=lambda: SELECT_RULES)
    seed: int = option(0, "random seed: filter u starts from noise drawn with seed + u")
    photos: PhotosLike = option(None, "the photos each filter is compared with: a folder, a list, or None for the "
                                      "built-in photos", flag=False)


@dataclass(frozen=True)
class RenderSpec(RecipeOptions):
    """The options of ``render``."""

    count: int = option(1, "pictures with different seeds, on one sheet", minimum=1)
    batch: int = option(RENDER_BATCH, "pictures optimized together", minimum=1)
    seed: int = option(0, "random seed: picture i starts from noise drawn with seed + i")
    thresholds: tuple[int, ...] = thresholds_option()

    def check(self) -> None:
        """Resolves the recipe once; keeps the thresholds as a tuple."""
        super().check()
        object.__setattr__(self, "thresholds", steps_tuple(self.thresholds))


@dataclass(frozen=True)
class DreamSpec(Spec):
    """The options of ``dream``."""

    layers: tuple[str, ...] | None = option(None, "the layers to amplify (default block8,block10 for "
                                                  "efficientnet-lite); give these or an objective")
    layer_weights: tuple[float, ...] | None = option(None, "one weight per layer, e.g. 1,1.5")
    octaves: int = option(4, "image scales, each octave_scale smaller", minimum=1)
    octave_scale: float = option(1.4, "the size ratio between octaves", minimum=0)
    steps: int = option(10, "steps per octave", minimum=1)
    step_size: float = option(0.01, "the mean change per pixel and step, on 0..1", minimum=0)
    jitter: int = option(32, "the random roll in px at each step", minimum=0)
    tile: int = option(512, "the gradient's tile size in px (bounded memory)", minimum=1)
    seed: int = option(0, "random seed of the rolls")

    def check(self) -> None:
        """Refuses a step size or octave scale that cannot move or shrink the image."""
        if self.step_size <= 0:
            raise OutOfRangeError(f"{{step_size}} must be positive, got {self.step_size}", options=["step_size"])
        if self.octave_scale <= 1 and self.octaves > 1:
            raise OutOfRangeError(f"{{octave_scale}} must be above 1, got {self.octave_scale}",
                                  options=["octave_scale"])


@dataclass(frozen=True)
class ClassvizSpec(Spec):
    """The options of ``classviz``."""

    recipe: Recipe | str = option("keras2016", "how the image is rendered: a Recipe or a recipe's name", flag=False)
    score: str = option("logit", "maximize the class's logit or its softmax probability",
                        choices=lambda: ("logit", "prob"))
    until: float | None = option(None, "stop when the class probability reaches this, e.g. 0.999")
    steps: int | None = option(None, "the step budget (default: the recipe's; keras2016 60)", minimum=1, flag=False)
    size: int | tuple[int, int] | None = option(None, "the image's size (default: the model's input size; maco: "
                                                      "the recipe's)", flag=False)
    seed: int = option(0, "random seed of the render")
    others: tuple[VisionModel, ...] = option((), "other networks asked afterwards what they see: one network sure and "
                                                "another not marks a fooling image", flag=False)

    def check(self) -> None:
        """Refuses an ``until`` that is not a probability; keeps the other networks as a tuple."""
        if self.until is not None and not 0 < self.until < 1:
            raise OutOfRangeError(f"{{until}} must be a probability between 0 and 1, got {self.until}",
                                  options=["until"])
        object.__setattr__(self, "others", tuple(self.others))


@dataclass(frozen=True)
class AccentuateSpec(Spec):
    """The options of ``accentuate``."""

    layer: str | None = option(None, "the earlier layer kept close to the photo's (default: a main layer about "
                                     "halfway to the objective's)")
    strength: float = option(ACCENTUATION_STRENGTH, "the weight of staying close to the photo, from 0 (none) to 1000",
                             minimum=0, maximum=1000)
    steps: int = option(ACCENTUATION_STEPS, "optimization steps", minimum=1)
    recipe: Recipe | str = option("lucid", "a recipe that starts from the photo (its transforms are left out)",
                                  flag=False)
    seed: int = option(0, "random seed of the render")


@dataclass(frozen=True)
class CaricatureSpec(Spec):
    """The options of ``caricature``."""

    steps: int = option(ACCENTUATION_STEPS, "optimization steps", minimum=1)
    from_noise: bool = option(False, "start from noise instead of the photo")
    recipe: Recipe | str = option("lucid", "a recipe that starts from the photo (its transforms are left out)",
                                  flag=False)
    seed: int = option(0, "random seed of the render")


@dataclass(frozen=True)
class UnitPicturesOptions(RecipeOptions):
    """The options of a command that shows units' pictures: from a finished atlas, or rendered
    now with this recipe, steps and seed."""

    recipe: Recipe | str = option("lucid", "the recipe of pictures rendered now: a Recipe or a recipe's name",
                                  flag=False)
    steps: int | None = option(128, "the steps of pictures rendered now", minimum=1)
    atlas: str | Path | None = option(None, "a finished atlas folder to take the unit pictures from (else they are "
                                     "rendered now, in one batch)", metavar="DIR")
    seed: int = option(0, "random seed of pictures rendered now")


@dataclass(frozen=True)
class ExplainSpec(UnitPicturesOptions):
    """The options of ``explain``."""

    per_position: int = option(3, "units shown per position", minimum=1)
    max_units: int = option(16, "without atlas: the units with the highest peaks that positions choose from",
                            minimum=1)
    class_units: int = option(8, "units shown for the top class", minimum=1)


@dataclass(frozen=True)
class ClassifySpec(Spec):
    """The options of ``classify``."""

    top: int = option(5, "classes to show per photo", minimum=1)


@dataclass(frozen=True)
class SaliencySpec(Spec):
    """The options of ``saliency``."""

    samples: int = option(16, "noisy copies averaged (SmoothGrad); 1 = plain", minimum=1)
    noise: float = option(0.15, "the noise's std on 0..1; 0 = plain Simonyan", minimum=0)
    seed: int = option(0, "random seed of the noise")


@dataclass(frozen=True)
class TwinsSpec(RecipeOptions):
    """The options of ``twins``; the recipe, size and steps are those of pictures rendered now."""

    steps: int | None = option(TWIN_PICTURE_STEPS, "the steps of pictures rendered now", minimum=1)
    angles: tuple[float, ...] | None = option(None, "the angles to try, in degrees (default 90,180,270)")
    angle_step: float | None = option(None, "try every multiple of this angle instead")
    threshold: float = option(0.7, "the lowest twin score reported, a correlation in [-1, 1]")
    top: int = option(8, "pairs on the sheet", minimum=1)
    pictures: bool = option(True, "whether to add the pairs' pictures (the sheet)", flag=False)
    atlas: str | Path | None = option(None, "an atlas folder to take the unit pictures from (else rendered now)",
                                      metavar="DIR")

    def check(self) -> None:
        """Resolves the recipe once; refuses both angles and a step, angles out of (0, 360) and
        a threshold outside [-1, 1]."""
        super().check()
        if self.angles is not None and self.angle_step is not None:
            raise OutOfRangeError("give {angles} or {angle_step}, not both", options=["angles", "angle_step"])
        check_threshold(self.threshold)
        if self.angles is not None:
            object.__setattr__(self, "angles", tuple(self.angles))
        angle_list(self.angles, self.angle_step)

    @property
    def angle_values(self) -> list[float]:
        """The angles to try."""
        return angle_list(self.angles, self.angle_step)


@dataclass(frozen=True)
class StatsSpec(Spec):
    """The options of ``stats`` (see ``convscope.stats``)."""

    units: tuple[int, ...] = option((), "the units to measure (default: the layer's first 8)", flag=False)
    judge: str | VisionModel | None = option(None, JUDGE_HELP, metavar="MODEL")
    trials: int | None = option(None, TRIALS_HELP, minimum=1)
    false_positive: float = option(DEFAULT_FALSE_POSITIVE, FALSE_POSITIVE_HELP, metavar="RATE")
    references: int = option(3, "references per kind: the unit's best photos, and its pictures (seeds)", minimum=1)
    recipe: Recipe | str = option(DEFAULT_RECIPE, "how the pictures are rendered", flag=False)
    seed: int = option(0, "the seed of the pictures and the trials")
    batch: int = option(32, "units optimized together", minimum=1)

    def check(self) -> None:
        """Resolves the recipe once; refuses a negative unit or a false-positive rate outside (0, 0.5)."""
        check_false_positive(self.false_positive)
        object.__setattr__(self, "recipe", resolve_recipe(self.recipe))
        object.__setattr__(self, "units", tuple(int(u) for u in self.units))
        if self.units and min(self.units) < 0:
            raise OutOfRangeError(f"{{units}} are numbers from 0, got {min(self.units)}", options=["units"])

    def units_of(self, model: VisionModel, layer: str) -> list[int]:
        """The units to measure in ``layer``: the spec's, or the layer's first ones."""
        return list(self.units) or list(range(min(FIRST_UNITS, model.layer(layer).channels)))


def angle_list(angles: Sequence[float] | None = None, angle_step: float | None = None) -> list[float]:
    """The angles to try, each in (0, 360): ``angles``, or every multiple of ``angle_step``
    (default: 90, 180 and 270).

    Raises:
        OutOfRangeError: an angle or step out of (0, 360).
    """
    if angle_step is not None:
        if angle_step <= 0 or angle_step >= 360:
            raise OutOfRangeError(f"{{angle_step}} must be between 0 and 360 (exclusive), got {angle_step}",
                                  options=["angle_step"])
        values = [angle_step * k for k in range(1, int(359.999 // angle_step) + 1)]
    else:
        values = list(angles or DEFAULT_ANGLES)
    for a in values:
        if not 0 < a < 360:
            raise OutOfRangeError(f"angles must be between 0 and 360 (exclusive), got {a}")
    return sorted(set(float(a) for a in values))


def check_threshold(threshold: float) -> None:
    """A twin threshold is a correlation, in [-1, 1]."""
    if not -1 <= threshold <= 1:
        raise OutOfRangeError(f"{{threshold}} is a correlation: give a value in [-1, 1], such as 0.7; got {threshold:g}",
                              options=["threshold"])


ATTRIBUTIONS = ("integrated-gradients", "gradient-x-activation")
MAX_CIRCUIT_DEPTH = 4


@dataclass(frozen=True)
class CircuitSpec(UnitPicturesOptions):
    """The options of ``circuit``."""

    from_layer: str | None = option(None, "the layer whose units the target is built from (default: the main layer "
                                          "before the target's; any layer before it, inside blocks too)",
                                    metavar="LAYER", flag=False)
    from_concepts: str | None = option(None, "a concepts folder of an earlier layer: the target is built from its "
                                             "concepts instead of the layer's units (with depth, the concepts are "
                                             "built from the units of the layers before)", metavar="DIR")
    top: int = option(8, "the strongest inputs of each node: shown, and ablated in order", minimum=1)
    depth: int = option(1, "layers of inputs: 2 or more also expands the strongest inputs of each input into a graph",
                        minimum=1, maximum=MAX_CIRCUIT_DEPTH)
    expand: int = option(3, "with depth 2 or more: the strongest inputs of each node that get inputs of their own",
                         minimum=1)
    photos_top: int = option(16, "the target's top photos (by its activation) that the attribution and the "
                                 "ablations run on", minimum=1)
    exemplars: str | Path | None = option(None, "a finished exemplars folder (of any photo folder) to take the top "
                                                "photos of unit targets from, by mean activation, up to as many as it "
                                                "keeps (the baselines still come from the photos)", metavar="DIR")
    method: str = option("integrated-gradients", "the attribution: integrated-gradients (adds up exactly, up to "
                                                 "its steps) or gradient-x-activation (one gradient, cheaper)",
                         choices=lambda: ATTRIBUTIONS)
    ig_steps: int = option(32, "integrated gradients: the points on the path from the baseline", minimum=1)
    random_orders: int = option(10, "the random orders of ablation the attribution's order is compared with",
                                minimum=10)
    batch: int = option(16, "photos (or points of a photo's path) per forward pass", minimum=1)
    seed: int = option(0, "random seed of the pictures and of the random orders")



CLASS_SOURCES = ("auto", "folder", "predictions")


@dataclass(frozen=True)
class LabelsSpec(Spec):
    """The options of ``labels`` (see ``convscope.labels``)."""

    units: tuple[int, ...] = option((), "the units to label (default: every unit of the layer)", flag=False)
    classes: str = option("auto", "whose classes the labels name: folder (each photo's subfolder, or a synset that "
                                  "starts its file name), predictions (the network's top class of each photo), or "
                                  "auto (the folder's where it gives them, else the predictions)",
                          choices=lambda: CLASS_SOURCES)
    min_photos: int = option(5, "the fewest photos a label's classes (and the rest of the folder) may hold for it to "
                                "be tried", minimum=2)
    permutations: int = option(1000, "photo shuffles of the test (its p-value is at least 1 / (this + 1), so 99 or "
                                     "more can reach 0.01)", minimum=99)
    seed: int = option(0, "the seed of the shuffles")
    batch: int = option(32, "photos per forward pass", minimum=1)

    def check(self) -> None:
        """Keeps the units as a tuple of ints; refuses a negative unit."""
        object.__setattr__(self, "units", tuple(int(u) for u in self.units))
        if self.units and min(self.units) < 0:
            raise OutOfRangeError(f"{{units}} are numbers from 0, got {min(self.units)}", options=["units"])

    def units_of(self, model: VisionModel, layer: str) -> list[int]:
        """The units to label in ``layer``: the spec's (each checked), or every unit."""
        for unit in self.units:
            model.check_channel(layer, unit)
        return list(self.units) or list(range(model.layer(layer).channels))
