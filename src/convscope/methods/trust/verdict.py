"""A unit's verdict: do its pictures show what it does? Decided from the machine's
two-alternative choice on one set of trials, run with four kinds of reference: the unit's
pictures, the recipe's starting noise for the same seeds, the pictures of other units of the
same layer, and the unit's top photos. Every test is paired over the same trials.

- "shows": the pictures beat the noise (a one-sided exact sign test over the trials where the
  two disagree) and beat the other units' pictures (a one-sided paired t-test of the pictures'
  pick against the other units' mean pick, trial by trial), each at p < the false-positive
  rate, and their score is above that of most other units' pictures (more than half of them:
  pictures that some other units' serve as well on these trials do not show what sets this
  unit apart). Pictures that do no better than either control are called "shows" at most that
  often.
- "does not": against the noise or the other units, the top photos beat that control (same
  tests) while the pictures' advantage over it is, with confidence 1 - the rate, less than
  half the top photos' advantage.
- otherwise "cannot say" with these photos and trials.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from convscope.errors import OutOfRangeError

if TYPE_CHECKING:  # the specs read this module's defaults, and the command line starts without torch
    from convscope.methods.trust.choice import ChoiceScore

SHOWS, DOES_NOT, CANNOT_SAY = "shows", "does not", "cannot say"
VERDICT_TEXT = {SHOWS: "shows what the unit does", DOES_NOT: "does not show what the unit does",
                CANNOT_SAY: "cannot say with these photos and trials"}
DEFAULT_FALSE_POSITIVE = 0.05
DEFAULT_TRIALS = 200  # the choice's 95% interval is then about +-0.07
MIN_AUTO_TRIALS = 25  # the fewest trials chosen for a small folder (interval about +-0.2)
FALSE_POSITIVE_HELP = "the rate, in (0, 0.5), at which pictures that beat no control are called \"shows\""
TRIALS_HELP = ("two-alternative trials per unit and kind of reference (default: 200, where the choice's 95% interval "
               "is about +-0.07, or as many as the photos allow, at least 25)")
JUDGE_HELP = ("the network whose embeddings the machine observer compares (default: efficientnet-lite2; "
              "efficientnet-lite0 for efficientnet-lite2 itself), read at its layer at the unit's depth, or "
              "MODEL:LAYER for one layer")
MIN_OTHER_UNITS = 3  # other units' pictures the prediction test needs (2 degrees of freedom)
DOES_NOT_SHARE = 0.5  # "does not": below this share of the top photos' advantage over a control


def check_false_positive(rate: float) -> None:
    """Refuses a false-positive rate outside (0, 0.5)."""
    if not 0 < rate < 0.5:
        raise OutOfRangeError(f"the false-positive rate must be in (0, 0.5), got {rate}: give {{false_positive}} "
                              "such as 0.05", options=["false_positive"])


def verdict_rule(rate: float) -> str:
    """The rule, in one sentence, for a page."""
    return (f"Shows: its pictures beat both the recipe's starting noise and other units' pictures on the same "
            f"trials, each at p < {rate:g}, so pictures that beat neither are called so at most {rate:.0%} of "
            f"the time; does not: with {1 - rate:.0%} confidence its pictures gain less than half of what its "
            "top photos gain over a control; otherwise cannot say.")


def sign_test(own: Sequence[float], control: Sequence[float]) -> float:
    """The one-sided exact p that picks ``own`` (0 or 1 per trial) are no better than the
    control's on the same trials: a binomial tail over the trials where they disagree."""
    better = sum(a > b for a, b in zip(own, control))
    n = better + sum(a < b for a, b in zip(own, control))
    return 1.0 if n == 0 else sum(math.comb(n, k) for k in range(better, n + 1)) / 2 ** n


def paired_t(own: Sequence[float], control: Sequence[float]) -> tuple[float, float]:
    """Per-trial differences own - control: their mean and its standard error (a trial's
    difference known to 1/n at worst, so a constant difference keeps a small error)."""
    d = [a - b for a, b in zip(own, control)]
    n = len(d)
    mean = sum(d) / n
    variance = sum((x - mean) ** 2 for x in d) / max(n - 1, 1)
    return mean, math.sqrt(max(variance, 1 / n ** 2) / n)


def t_p_above(own: Sequence[float], control: Sequence[float]) -> float:
    """The one-sided p of a paired t-test that ``own`` is no better than ``control``."""
    from scipy import stats as scipy_stats  # on use: the import takes a while

    mean, error = paired_t(own, control)
    return float(scipy_stats.t.sf(mean / error, len(own) - 1))


def upper_bound(own: Sequence[float], control: Sequence[float], rate: float) -> float:
    """The one-sided (1 - ``rate``) upper bound of the mean per-trial advantage of own over control."""
    from scipy import stats as scipy_stats

    mean, error = paired_t(own, control)
    return mean + float(scipy_stats.t.isf(rate, len(own) - 1)) * error


def picks(score: ChoiceScore) -> list[float]:
    """The observer's picks, 1.0 where it chose the strong query."""
    return [float(p) for p in score.picks]


@dataclass(frozen=True)
class Verdict:
    """A unit's verdict and the tests behind it (p-values are one-sided)."""

    verdict: str
    rate: float
    reason: str
    p_noise: float
    p_other_units: float | None
    advantage_noise: float
    advantage_other_units: float | None

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "text": VERDICT_TEXT[self.verdict], "rule": verdict_rule(self.rate),
                "false_positive": self.rate,
                "reason": self.reason, "p_noise": self.p_noise, "p_other_units": self.p_other_units,
                "advantage_noise": self.advantage_noise, "advantage_other_units": self.advantage_other_units}


def decide(pictures: ChoiceScore, noise: ChoiceScore, others: Sequence[ChoiceScore], photos: ChoiceScore,
           rate: float) -> Verdict:
    """The verdict on one unit's pictures (see the module docstring).

    Args:
        pictures: the choice with the unit's pictures as references.
        noise: with the recipe's starting noise for the same seeds, on the same trials.
        others: with each other unit's pictures, on the same trials.
        photos: with the unit's top photos.
        rate: the false-positive rate, in (0, 0.5).
    Returns:
        The verdict, its reason in words, the p-values and the advantages.
    """
    own, top, by_noise = picks(pictures), picks(photos), picks(noise)
    p_noise = sign_test(own, by_noise)
    little_over_noise = sign_test(top, by_noise) < rate and \
        upper_bound(own, by_noise, rate) < DOES_NOT_SHARE * paired_t(top, by_noise)[0]
    advantage_noise = paired_t(own, by_noise)[0]
    if len(others) < MIN_OTHER_UNITS:
        why = f"only {len(others)} other units' pictures to compare with (at least {MIN_OTHER_UNITS} are needed)"
        verdict = DOES_NOT if little_over_noise else CANNOT_SAY
        reason = "gains less than half of what its top photos gain over noise" if little_over_noise else why
        return Verdict(verdict, rate, reason, p_noise, None, advantage_noise, None)
    by_others = [sum(trial) / len(others) for trial in zip(*(o.picks for o in others))]  # their mean pick per trial
    p_others = t_p_above(own, by_others)
    little_over_others = t_p_above(top, by_others) < rate and \
        upper_bound(own, by_others, rate) < DOES_NOT_SHARE * paired_t(top, by_others)[0]
    advantage_others = paired_t(own, by_others)[0]
    above_most = sum(pictures.score > o.score for o in others) > len(others) / 2
    if p_noise < rate and p_others < rate and above_most:
        verdict, reason = SHOWS, f"beats noise (p {p_noise:.2g}) and {len(others)} other units (p {p_others:.2g})"
    elif little_over_noise or little_over_others:
        control = "noise" if little_over_noise else f"{len(others)} other units' pictures"
        verdict, reason = DOES_NOT, f"gains less than half of what its top photos gain over {control}"
    elif p_noise < rate and p_others < rate:
        verdict = CANNOT_SAY
        reason = (f"beats noise (p {p_noise:.2g}) and the mean of {len(others)} other units (p {p_others:.2g}), "
                  "but not most of them: their pictures serve its trials as well")
    else:
        verdict = CANNOT_SAY
        reason = (f"p {p_noise:.2g} against noise and {p_others:.2g} against {len(others)} other units: "
                  "more trials or photos may decide")
    return Verdict(verdict, rate, reason, p_noise, p_others, advantage_noise, advantage_others)


def verdict_counts(verdicts: Iterable[str | None]) -> dict[str, int]:
    """How many units got each verdict (units without one are not counted)."""
    given = [v for v in verdicts if v is not None]
    return {v: given.count(v) for v in (SHOWS, DOES_NOT, CANNOT_SAY)}
