"""Successive halving: a render of many units that keeps only the best few drops the units far
behind at a few cuts, and spends its remaining steps on the others.

Each unit's optimization is independent of the others (its own seed, the shared transforms,
one slot), so the units that reach the end have the pictures of a full run. At each cut, a
unit stays if it is among the best by its objective on the current image, or among the
fastest rising over the last part of the stage (a late bloomer). The limit: a unit flat until
after a cut, which then overtakes the others, is dropped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from convscope.errors import OutOfRangeError

DEFAULT_CUTS = (0.125, 0.25, 0.5)  # shares of the steps after which units are dropped
# units kept after each cut, in multiples of those finally kept: keeping 2, 1.5 and 1 times kept
# 89% of a full lucid grid's best 64 of 200 at efficientnet-lite0's head, these 97%
# (benchmarks/halving_side.py)
DEFAULT_KEEP = (2.5, 2.0, 1.5)
RISE_WINDOW = 0.25  # the rise is measured over this share of the stage before a cut


@dataclass(frozen=True)
class Halving:
    """Which units a render keeps at its cuts.

    Attributes:
        top: the units finally wanted (the render still returns every unit that reaches the end).
        cuts: shares of the steps (increasing, in (0, 1)) after which units are dropped.
        keep: units kept after each cut, in multiples of ``top``.
        margin: units kept beyond ``top`` at every cut (default: an eighth of ``top``, at least 1).
        rising: the fastest-rising units kept at every cut whatever their rank (default: a
            sixteenth of ``top``, at least 1).
    """

    top: int
    cuts: tuple[float, ...] = DEFAULT_CUTS
    keep: tuple[float, ...] = DEFAULT_KEEP
    margin: int | None = None
    rising: int | None = None

    def __post_init__(self) -> None:
        if self.top <= 0:
            raise OutOfRangeError(f"halving keeps a positive number of units, got {self.top}")
        if len(self.cuts) != len(self.keep) or list(self.cuts) != sorted(set(self.cuts)) \
                or not all(0 < c < 1 for c in self.cuts):
            raise OutOfRangeError(f"halving's cuts must be increasing shares in (0, 1), one per keep: got cuts "
                                  f"{list(self.cuts)}, keep {list(self.keep)}")
        if any(k < 1 for k in self.keep):
            raise OutOfRangeError(f"halving keeps at least top units at every cut, got keep {list(self.keep)}")

    @property
    def kept_margin(self) -> int:
        return self.margin if self.margin is not None else max(1, math.ceil(self.top / 8))

    @property
    def kept_rising(self) -> int:
        return self.rising if self.rising is not None else max(1, math.ceil(self.top / 16))

    def cut_steps(self, steps: int) -> list[tuple[int, int]]:
        """(step, units to keep by rank) for each cut of a render of ``steps`` steps; cuts that
        round to the same step, to step 0 or to the last step are left out."""
        plan: dict[int, int] = {}
        for share, times in zip(self.cuts, self.keep):
            step = round(share * steps)
            if 0 < step < steps:
                plan[step] = max(math.ceil(times * self.top), self.top + self.kept_margin)
        return sorted(plan.items())

    def describe(self, steps: int) -> dict:
        """The rule as a sidecar records it, for a render of ``steps`` steps."""
        return {"rule": "halving", "cuts": [{"step": step, "keep": keep} for step, keep in self.cut_steps(steps)],
                "rising": self.kept_rising, "rise_window": RISE_WINDOW}

    def worthwhile(self, units: int, steps: int) -> bool:
        """Whether any cut would drop a unit of a render of ``units`` units."""
        return any(units > keep for _step, keep in self.cut_steps(steps))

    def choose(self, activations: torch.Tensor, history: torch.Tensor, keep: int, since: int) -> list[int]:
        """The units that go on after a cut.

        Args:
            activations: (N,) each unit's objective on its current image.
            history: (steps, N) each unit's objective at every step so far.
            keep: units to keep by rank.
            since: the step the stage began at (the rise is measured within the stage).
        Returns:
            The positions (in 0..N-1) kept, increasing: the best ``keep`` by activation, and the
            ``rising`` fastest rising among the others.
        """
        count = activations.shape[0]
        order = sorted(range(count), key=lambda i: (-float(activations[i]), i))
        kept = set(order[:keep])
        rise = recent_rise(history[since:])
        others = sorted((i for i in range(count) if i not in kept), key=lambda i: (-float(rise[i]), i))
        kept.update(others[:self.kept_rising])
        return sorted(kept)


def recent_rise(history: torch.Tensor) -> torch.Tensor:
    """(N,) each unit's rise per step over the last ``RISE_WINDOW`` of ``history`` (steps, N):
    the mean of that window minus the mean of the window before it, over the window's length."""
    steps = history.shape[0]
    window = max(1, int(steps * RISE_WINDOW))
    if steps < 2 * window:
        return torch.zeros(history.shape[1])
    recent = history[steps - window:].float().mean(dim=0)
    before = history[steps - 2 * window:steps - window].float().mean(dim=0)
    return (recent - before) / window
