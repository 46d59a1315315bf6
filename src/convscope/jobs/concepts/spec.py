"""The options of ``concepts``: one spec, read by the job, the API and the command line."""
from __future__ import annotations

from dataclasses import dataclass

from convscope.engine.recipes import DEFAULT_RECIPE, Recipe, get_recipe
from convscope.errors import OutOfRangeError
from convscope.jobs.job_folder import WAIT_HELP
from convscope.methods.concepts.dictionary import DICTIONARY_METHODS
from convscope.models.base import VisionModel
from convscope.runtime.spec import Spec, option


def _methods() -> list[str]:
    return list(DICTIONARY_METHODS)


@dataclass(frozen=True)
class ConceptsSpec(Spec):
    """The options of ``concepts`` (see ``convscope.concepts``)."""

    method: str = option("nmf", lambda: "the dictionary method: " + "; ".join(
        f"{name}: {method.about}" for name, method in DICTIONARY_METHODS.items()), choices=_methods)
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
    recipe: Recipe | str = option(DEFAULT_RECIPE, "how each concept's direction is rendered", flag=False)
    batch: int = option(32, "concepts rendered together", minimum=1)
    photo_batch: int = option(32, "photos per forward pass", minimum=1)
    workers: int = option(2, "processes decoding photos (0: decode in this one)", minimum=0)
    judge: str | VisionModel | None = option(None, "the network whose embeddings judge each concept's picture "
                                                   "(default: efficientnet-lite2; efficientnet-lite0 for "
                                                   "efficientnet-lite2 itself)", metavar="MODEL")
    trials: int = option(50, "two-alternative trials per concept and kind of reference", minimum=1)
    wait: bool = option(False, WAIT_HELP)

    def check(self) -> None:
        """Raises a one-line error for options that do not fit together; resolves the recipe."""
        object.__setattr__(self, "recipe", get_recipe(self.recipe))
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
