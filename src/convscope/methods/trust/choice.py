"""A machine two-alternative choice (Borowski et al., ICLR 2021, with the person replaced by
an image-similarity model as in Zimmermann et al.'s Machine Interpretability Score).

One trial shows references of a unit (its pictures, or some of its top photos, drawn per
trial) and two query photos: a strongly exciting one (another of the unit's top photos, never
one of the trial's references) and a weakly exciting one (from the bottom of the folder's
ranking). The observer picks the query whose embedding
is closer, by mean cosine, to the references' embeddings; a tie is a coin flip. Embeddings
are centred on the folder's mean embedding first, so that closeness means shared content
rather than the bias every photo shares. The score is the share of right picks: 0.5 is
chance. References of random photos give the observer's own chance level on the folder.

It is a proxy for the human task: it says whether the references carry what a similarity
model needs to tell the unit's strong photos from its weak ones, not what a person sees.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

TIE = 1e-6  # closeness differences below this are ties
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Trial:
    """One trial (photo indices): its queries, the top photos that are its natural references,
    random photos that are its chance references, and whether the strong query is shown first."""

    strong: int
    weak: int
    references: tuple[int, ...]
    random_references: tuple[int, ...]
    strong_first: bool


def query_count(trials: int) -> int:
    """The weak photos a unit's trials draw from, and the top photos beyond the references:
    enough for ``trials`` different pairs of queries."""
    return max(2, math.ceil(math.sqrt(trials)))


def photos_needed(trials: int, references: int) -> int:
    """The readable photos a folder needs for ``trials`` trials with ``references`` references:
    the top pool, the weak pool, and as many again for the chance references."""
    return 2 * references + 2 * query_count(trials)


def draw_trials(top: Sequence[int], weak: Sequence[int], others: Sequence[int], references: int, trials: int,
                generator: torch.Generator) -> list[Trial]:
    """``trials`` trials: per trial the strong query and ``references`` natural references drawn
    from ``top`` without overlap, the weak query from ``weak``, ``references`` chance
    references from ``others``, and a side for display."""
    drawn = []
    for _ in range(trials):
        order = torch.randperm(len(top), generator=generator).tolist()
        weak_query = weak[int(torch.randint(len(weak), (1,), generator=generator))]
        chance = torch.randperm(len(others), generator=generator)[:references].tolist()
        side = bool(torch.rand(1, generator=generator) < 0.5)
        drawn.append(Trial(top[order[0]], weak_query, tuple(top[i] for i in order[1:1 + references]),
                           tuple(others[i] for i in chance), side))
    return drawn


def observer_correct(references: torch.Tensor, strong: torch.Tensor, weak: torch.Tensor,
                     generator: torch.Generator, centre: torch.Tensor | None = None) -> torch.Tensor:
    """(T,) whether the observer picks the strong query of each trial.

    Args:
        references: (R, D) embeddings of the references of every trial, or (T, R, D) each trial's.
        strong: (T, D) embeddings of each trial's strong query.
        weak: (T, D) embeddings of each trial's weak query.
        generator: draws the coin of a tie.
        centre: (D,) subtracted from every embedding first (None: nothing).
    """
    def unit_rows(x: torch.Tensor) -> torch.Tensor:
        x = x.double() - (centre.double() if centre is not None else 0.0)
        return torch.nn.functional.normalize(x, dim=1)

    refs = unit_rows(references.reshape(-1, references.shape[-1])).reshape(references.shape)
    refs = refs.expand(len(strong), *refs.shape[-2:]) if refs.dim() == 2 else refs
    closeness_strong = torch.einsum("td,trd->tr", unit_rows(strong), refs).mean(dim=1)
    closeness_weak = torch.einsum("td,trd->tr", unit_rows(weak), refs).mean(dim=1)
    coins = torch.rand(len(strong), generator=generator) < 0.5
    tie = (closeness_strong - closeness_weak).abs() <= TIE
    return torch.where(tie, coins, closeness_strong > closeness_weak)


def wilson_interval(correct: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of a binomial share."""
    p = correct / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ChoiceScore:
    """The observer's pick in each trial (True: the strong query), their share and its 95%
    interval. The trials of a unit share its pictures, so the interval is that of these
    trials, not of every trial the unit could be given."""

    picks: tuple[bool, ...]

    @property
    def correct(self) -> int:
        return sum(self.picks)

    @property
    def trials(self) -> int:
        return len(self.picks)

    @property
    def score(self) -> float:
        return self.correct / self.trials

    def as_dict(self) -> dict:
        low, high = wilson_interval(self.correct, self.trials)
        return {"score": self.score, "correct": self.correct, "trials": self.trials, "interval": [low, high]}
