"""The options of the folder jobs (``atlas``, ``exemplars``, ``activation-atlas``, ``concepts``,
``trust``), one spec each. Plain values: the command line lists them (``--help``) without
loading torch, and the jobs read them whole.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from convscope.engine.recipe_options import resolve_recipe
from convscope.engine.recipe_settings import DEFAULT_RECIPE
from convscope.errors import OutOfRangeError
from convscope.jobs.job_folder import WAIT_HELP
from convscope.methods.concepts.registry import dictionary_method_names, dictionary_methods_help
from convscope.methods.specs import CircuitSpec, LabelsSpec, StatsSpec
from convscope.methods.trust.verdict import (
    DEFAULT_FALSE_POSITIVE,
    FALSE_POSITIVE_HELP,
    JUDGE_HELP,
    TRIALS_HELP,
    check_false_positive,
)
from convscope.runtime.spec import Spec, option

if TYPE_CHECKING:
    from convscope.engine.recipes import Recipe
    from convscope.models.base import VisionModel


@dataclass(frozen=True)
class AtlasSpec(Spec):
    """The options of ``atlas`` (see ``convscope.atlas``)."""

    layers: tuple[str, ...] = option((), "the layers (default: every layer, logits included)")
    units: tuple[int, ...] = option((), "render now only the batches that hold these units of each layer (the atlas "
                                        "shows what is rendered; a later run without them completes it, to the same "
                                        "files as one run)", flag=False)
    render_layers: tuple[str, ...] = option((), "of the layers, render now only these (default: all; the others "
                                                "later, into the same atlas)", flag=False)
    recipe: Recipe | str = option(DEFAULT_RECIPE, "how the units are rendered", flag=False)
    photos: str | None = option(None, "a folder of your own photos for the statistics and, with enough photos, each "
                                      "unit's trust measures (its one picture as the reference); read with its "
                                      "subfolders and streamed, so it can be of any size (default: the built-in set)",
                                metavar="DIR")
    exemplars: str | None = option(None, "a finished exemplars folder: each unit's page shows its dataset examples, "
                                         "cropped to its receptive field", metavar="DIR")
    batch: int = option(32, "units optimized together (part of the atlas's settings)", minimum=1)
    seed: int = option(0, "the seed of the pictures")
    workers: int = option(2, "processes decoding photos (0: decode in this one)", minimum=0)
    judge: str | VisionModel | None = option(None, f"with photos: {JUDGE_HELP}", metavar="MODEL")
    trials: int | None = option(None, f"with photos: {TRIALS_HELP}", minimum=1)
    false_positive: float = option(DEFAULT_FALSE_POSITIVE, f"with photos: {FALSE_POSITIVE_HELP}",
                                   metavar="RATE")
    circuits: bool = option(False, "with photos: each unit's page also shows its circuit in brief (the units of the "
                                   "main layer before that build it, and the units and classes it feeds)")
    force: bool = option(False, "replace an atlas with other settings in the output folder")
    wait: bool = option(False, WAIT_HELP)

    def check(self) -> None:
        """Resolves the recipe once; refuses a false-positive rate outside (0, 0.5) and a negative unit."""
        check_false_positive(self.false_positive)
        object.__setattr__(self, "recipe", resolve_recipe(self.recipe))
        object.__setattr__(self, "units", tuple(int(u) for u in self.units))
        if self.units and min(self.units) < 0:
            raise OutOfRangeError(f"{{units}} are numbers from 0, got {min(self.units)}", options=["units"])


@dataclass(frozen=True)
class ExemplarsSpec(Spec):
    """The options of ``exemplars`` (see ``convscope.exemplars``)."""

    layers: tuple[str, ...] = option((), "the layers (default: the model's main layers, logits included)")
    top: int = option(9, "photos kept per unit, by peak and by mean", minimum=1)
    batch: int = option(64, "photos per forward pass", minimum=1)
    workers: int = option(2, "processes decoding photos (0: decode in this one)", minimum=0)
    checkpoint_every: int = option(20, "save the state every this many batches", minimum=1, metavar="BATCHES")
    wait: bool = option(False, WAIT_HELP)


@dataclass(frozen=True)
class ActivationAtlasSpec(Spec):
    """The options of ``activation-atlas`` (see ``convscope.activation_atlas``)."""

    grid: int = option(20, "cells per side of the grid", minimum=1, maximum=100)
    samples: int = option(5000, "activation vectors sampled (random positions, spread over the photos)", minimum=2)
    min_count: int = option(3, "fewest vectors a cell needs to be drawn", minimum=1)
    recipe: Recipe | str = option(DEFAULT_RECIPE, "how each cell's mean direction is rendered", flag=False)
    batch: int = option(32, "cells optimized together", minimum=1)
    photo_batch: int = option(32, "photos per forward pass of the sampling", minimum=1)
    workers: int = option(2, "processes decoding photos (0: decode in this one)", minimum=0)
    seed: int = option(0, "the seed of the sampling, the layout and the pictures")
    wait: bool = option(False, WAIT_HELP)

    def check(self) -> None:
        """Resolves the recipe once."""
        object.__setattr__(self, "recipe", resolve_recipe(self.recipe))


@dataclass(frozen=True)
class ConceptsSpec(Spec):
    """The options of ``concepts`` (see ``convscope.concepts``)."""

    method: str = option("nmf", dictionary_methods_help, choices=dictionary_method_names)
    concepts: int = option(64, "atoms in the dictionary", minimum=1)
    k: int = option(8, "active concepts per vector (sae), and units kept per vector by the units baseline",
                    minimum=1)
    samples: int = option(100_000, "the most training vectors, spread evenly over the training photos", minimum=1)
    held_out: float = option(0.1, "share of the photos kept apart for the measures")
    seed: int = option(0, "the seed of the split, the sampling, the training (a second dictionary uses seed + 1) "
                          "and the pictures")
    epochs: int | None = option(None, "passes over the vectors (default: enough for 4,000 minibatch steps, "
                                      "at most 500)", minimum=1)
    classes: tuple[str, ...] = option((), "classes to weigh the concepts for, by name or index")
    circuits: bool = option(False, "each concept's page also shows its circuit in brief: the units of the main layer "
                                   "before that build its direction most on its top photos (integrated gradients), "
                                   "and the share its top 8 inputs explain beside 8 random ones (one more pass over "
                                   "the photos)")
    circuits_from: str | None = option(None, "with circuits: build each concept from the concepts of this concepts "
                                             "folder (of an earlier layer) instead of the units of the main layer "
                                             "before", metavar="DIR")
    recipe: Recipe | str = option(DEFAULT_RECIPE, "how each concept's direction is rendered", flag=False)
    batch: int = option(32, "concepts rendered together", minimum=1)
    photo_batch: int = option(32, "photos per forward pass", minimum=1)
    workers: int = option(2, "processes decoding photos (0: decode in this one)", minimum=0)
    judge: str | VisionModel | None = option(None, JUDGE_HELP.replace("the unit's depth", "the concepts' depth"), metavar="MODEL")
    trials: int | None = option(None, TRIALS_HELP.replace("per unit", "per concept"), minimum=1)
    false_positive: float = option(DEFAULT_FALSE_POSITIVE, FALSE_POSITIVE_HELP, metavar="RATE")
    wait: bool = option(False, WAIT_HELP)

    def check(self) -> None:
        """Raises a one-line error for options that do not fit together; resolves the recipe."""
        check_false_positive(self.false_positive)
        object.__setattr__(self, "recipe", resolve_recipe(self.recipe))
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
        if not 1 <= self.k <= self.concepts:
            raise OutOfRangeError(f"{{k}} must be from 1 to {{concepts}} ({self.concepts}), got {self.k}",
                                  options=["k", "concepts"])
        if self.samples < self.concepts:
            raise OutOfRangeError(f"{{samples}} ({self.samples}) must be at least {{concepts}} ({self.concepts}): a "
                                  "dictionary needs more vectors than concepts", options=["samples", "concepts"])
        if not 0 <= self.held_out < 1:
            raise OutOfRangeError(f"{{held_out}} must be from 0 to below 1, got {self.held_out}", options=["held_out"])

    def learning(self) -> dict:
        """The options that decide what is learned, as concepts.json's settings record them."""
        return {name: getattr(self, name) for name in ("method", "concepts", "k", "samples", "held_out", "seed",
                                                       "epochs", "classes")}


@dataclass(frozen=True)
class TrustSpec(StatsSpec):
    """The options of ``trust`` (see ``convscope.trust``): those of ``stats``, and where the
    trials page goes and whether to wait for the folder."""

    export: str | None = option(None, "also write the trials as a page people can take (index.html) and its answer "
                                      "key (answer-key.json) in this folder", metavar="DIR", flag=False)
    wait: bool = option(False, WAIT_HELP)


@dataclass(frozen=True)
class CircuitJobSpec(CircuitSpec):
    """The options of ``circuit`` (see ``convscope.circuit``): the circuit's, and how its output
    folder is taken."""

    force: bool = option(False, "replace a circuit of other settings in the output folder")
    wait: bool = option(False, WAIT_HELP)


@dataclass(frozen=True)
class LabelsJobSpec(LabelsSpec):
    """The options of ``labels`` (see ``convscope.labels``): the labels', and how an output
    folder is taken when one is given."""

    force: bool = option(False, "replace labels of other settings in the output folder")
    wait: bool = option(False, WAIT_HELP)


@dataclass(frozen=True)
class ServeSpec(Spec):
    """The options of ``serve``: the workspace the explorer keeps its work in, where it listens,
    and how the units it shows are rendered (an atlas of the workspace, built on demand)."""

    folder: str = option("explore", "the workspace folder: what the explorer computes is kept there, in the files the "
                                    "commands write (its atlas is atlas/), and a restart goes on from it",
                         metavar="DIR")
    host: str = option("127.0.0.1", "the address to listen on (127.0.0.1: this machine only)")
    port: int = option(8000, "the port to listen on", minimum=1, maximum=65535)
    recipe: Recipe | str = option(DEFAULT_RECIPE, "how units are rendered", flag=False)
    batch: int = option(32, "units optimized together (part of the atlas's settings)", minimum=1)
    seed: int = option(0, "the seed of the pictures")
    thumbnail_steps: int = option(128, "a layer's grid first shows each unit's picture at this many steps (the "
                                       "picture its atlas holds at that step), then the atlas renders every unit at "
                                       "the recipe's steps (0, or the recipe's steps or more: no first pictures)",
                                  minimum=0, metavar="N")
    workers: int = option(2, "processes decoding photos (0: decode in this one)", minimum=0)
    concept_epochs: int | None = option(None, "passes over the vectors when a layer's concepts are learned (default: "
                                              "as the concepts command)", minimum=1, metavar="N")
    export: str | None = option(None, "write what the workspace holds as pages that need no server into this "
                                      "folder, and stop", metavar="DIR")
