"""A unit's trust measures: its path score and the machine's two-alternative choice, from the
photos' ranking of the unit (one pass), its pictures, and a judge; the same measures for the
controls (the recipe's starting noise, other units' pictures) on the same trials, and the
verdict they give."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import torch

from convscope.data.photo_sources import PhotoSource
from convscope.data.photo_stats import PhotoStats
from convscope.errors import OutOfRangeError
from convscope.methods.trust.choice import ChoiceScore, Trial, draw_trials, observer_correct, photos_needed, query_count
from convscope.methods.trust.controls import PictureSet, other_units
from convscope.methods.trust.judge import EMBED_BATCH, Judge
from convscope.methods.trust.path import PATH_PHOTOS, PathCurve, channel_means, path_curve
from convscope.methods.trust.verdict import (
    DEFAULT_FALSE_POSITIVE,
    DEFAULT_TRIALS,
    MIN_AUTO_TRIALS,
    Verdict,
    check_false_positive,
    decide,
    verdict_rule,
)
from convscope.models.base import VisionModel

CENTRE_PHOTOS = 64  # photos whose mean (embedding, and channel means) is the folder's
PICTURE_SEED_STEP = 1_000_003
"""Picture k of a unit (k = 0 .. references - 1) is rendered with seed + k * PICTURE_SEED_STEP:
picture 0 is the unit's usual picture for that seed."""

TRUST_NOTE = ("path_score: where the picture's path through the earlier layers stands between random photos' (0) and "
              "the unit's top photos' (1), path.interval its 95% bootstrap interval over the top photos (noise, "
              "more uniform than any photo, can stand above 1); choice: the share of trials in which a judge "
              "network, shown the references, picks the strongly exciting photo of two (0.5 is chance), a proxy for "
              "the human task; controls: the same measures with the recipe's starting noise and other units' "
              "pictures as references; verdict: see rule")


@dataclass(frozen=True)
class TrustSettings:
    """How trust is measured.

    Attributes:
        judge: the network whose embeddings the observer compares.
        trials: two-alternative trials per unit and kind of reference.
        references: references of each kind: the unit's best photos, and its pictures (seeds).
        false_positive: the rate at which pictures that beat no control are called "shows".
    """

    judge: Judge
    trials: int = DEFAULT_TRIALS
    references: int = 3
    false_positive: float = DEFAULT_FALSE_POSITIVE

    def __post_init__(self) -> None:
        if self.trials <= 0 or self.references <= 0:
            raise OutOfRangeError("{trials} and {references} must be positive", options=["trials", "references"])
        check_false_positive(self.false_positive)

    @property
    def top_photos(self) -> int:
        """The photos a unit's ranking must keep at its top."""
        return max(self.references + query_count(self.trials), PATH_PHOTOS)

    @property
    def low_photos(self) -> int:
        return query_count(self.trials)

    @property
    def photos_needed(self) -> int:
        return max(photos_needed(self.trials, self.references), PATH_PHOTOS + 2)

    def as_dict(self) -> dict:
        return {"judge": self.judge.name, "judge_layer": self.judge.reads, "trials": self.trials,
                "references": self.references, "path_photos": PATH_PHOTOS, "false_positive": self.false_positive,
                "note": TRUST_NOTE, "rule": verdict_rule(self.false_positive)}


def trials_for(asked: int | None, photos: int, references: int) -> int:
    """The trials per unit and kind of reference: ``asked`` when given; else DEFAULT_TRIALS, or
    as many as ``photos`` photos allow with ``references`` references (never fewer than
    MIN_AUTO_TRIALS: below that a folder is refused, or its trust not measured, as too small)."""
    if asked is not None:
        return asked
    queries = (photos - 2 * references) // 2  # photos_needed: 2 x references + 2 x ceil(sqrt(trials))
    return max(MIN_AUTO_TRIALS, min(DEFAULT_TRIALS, queries * queries))


def picture_seeds(seed: int, references: int) -> list[int]:
    """The seeds of a unit's pictures (see PICTURE_SEED_STEP)."""
    return [seed + k * PICTURE_SEED_STEP for k in range(references)]


def trust_impossible(photos: int, settings: TrustSettings) -> str | None:
    """Why trust cannot be measured over ``photos`` photos, or None when it can."""
    if photos < settings.photos_needed:
        return (f"{photos} photos are too few: {settings.trials} trials with {settings.references} references per "
                f"unit need at least {settings.photos_needed}")
    return None


def check_photo_count(readable: int, settings: TrustSettings) -> None:
    """Refuses a photo set too small for the trials and the path."""
    too_few = trust_impossible(readable, settings)
    if too_few is not None:
        raise OutOfRangeError(f"{too_few}; add photos, or lower {{trials}} or {{references}}",
                              options=["trials", "references"])


@dataclass(frozen=True)
class ControlScores:
    """One control's measures on a unit's trials: its path curve (None for the first layer) and
    the choice with it as the references."""

    path: PathCurve | None
    choice: ChoiceScore

    @property
    def path_score(self) -> float | None:
        return self.path.mean_score if self.path is not None else None


@dataclass
class UnitTrust:
    """One unit's measures, its controls' and its verdict, and what its trials showed (for a
    page a person can take)."""

    unit: int
    path: PathCurve | None  # None for the first layer
    choice_pictures: ChoiceScore
    choice_photos: ChoiceScore
    choice_random: ChoiceScore
    trials: list[Trial]
    noise: ControlScores
    other_units: dict[int, ControlScores]
    verdict: Verdict
    judge_layer: str  # the layer of the judge that read its references and queries
    photo_means: dict[int, float] = field(default_factory=dict)  # top and weak photo -> the unit's mean
    path_photos: tuple[list[int], list[int]] = ([], [])  # the path's top photos and random photos

    def as_dict(self) -> dict:
        others = list(self.other_units.values())
        return {"path_score": self.path_score, "choice_pictures": self.choice_pictures.as_dict(),
                "choice_photos": self.choice_photos.as_dict(), "choice_random": self.choice_random.as_dict(),
                "path": self.path.as_dict() if self.path is not None else None,
                "controls": {"noise": {"path_score": self.noise.path_score, "choice": self.noise.choice.as_dict(),
                                       "path": self.noise.path.as_dict() if self.noise.path is not None else None},
                             "other_units": {"units": list(self.other_units),
                                             "path_scores": [o.path_score for o in others],
                                             "choices": [o.choice.score for o in others],
                                             "median_path_score": _median([o.path_score for o in others]),
                                             "median_choice": _median([o.choice.score for o in others])}},
                "verdict": self.verdict.as_dict(), "judge_layer": self.judge_layer}

    @property
    def path_score(self) -> float | None:
        return self.path.mean_score if self.path is not None else None


def _median(values: Sequence[float | None]) -> float | None:
    """The median of the known values (the upper one of an even count), or None."""
    known = sorted(v for v in values if v is not None)
    return known[len(known) // 2] if known else None


class TrustMeter:
    """Measures units of one layer against one photo ranking; photos' channel means and
    embeddings are computed once and shared by the units."""

    def __init__(self, model: VisionModel, layer: str, source: PhotoSource, stats: PhotoStats,
                 settings: TrustSettings, seed: int) -> None:
        self.model, self.source, self.stats, self.settings, self.seed = model, source, stats, settings, seed
        self.judge = settings.judge.at_depth_of(model, layer)
        self.layers = model.earlier_main_layers(layer)  # none for the first layer: no path, the choice alone
        check_photo_count(len(stats.readable), settings)
        self._means: dict[int, dict[str, torch.Tensor]] = {}
        sample = torch.randperm(len(stats.readable), generator=torch.Generator().manual_seed(seed))[:CENTRE_PHOTOS]
        folder_sample = [stats.readable[i] for i in sample.tolist()]
        self.centre = self.judge.embed_photos(source, folder_sample).mean(dim=0)
        self.folder_sample = folder_sample
        self.folder_means = {name: m.mean(dim=0) for name, m in self.photo_means(folder_sample).items()} \
            if self.layers else {}

    def settings_dict(self) -> dict:
        """The settings (see ``TrustSettings.as_dict``), with the judge's layer this layer's units are read at."""
        return self.settings.as_dict() | {"judge_layer": self.judge.layer}

    def photo_means(self, indices: list[int]) -> dict[str, torch.Tensor]:
        """Per earlier layer, (N, C) channel means of photos ``indices``."""
        missing = [i for i in dict.fromkeys(indices) if i not in self._means]
        for start in range(0, len(missing), EMBED_BATCH):
            part = missing[start:start + EMBED_BATCH]
            means = channel_means(self.model, self.layers, torch.cat([self.source.image(self.model, i) for i in part]))
            for row, i in enumerate(part):
                self._means[i] = {name: means[name][row] for name in self.layers}
        return {name: torch.stack([self._means[i][name] for i in indices]) for name in self.layers}

    def picture_set(self, pictures: torch.Tensor) -> PictureSet:
        """``pictures`` (R, 3, H, W) in [0, 1], as the network judges them, read as the measures
        read references: once per set, however many units compare with it."""
        means = channel_means(self.model, self.layers, pictures) if self.layers else {}
        return PictureSet(self.judge.embed(pictures), means)

    def single_sets(self, pictures: torch.Tensor) -> list[PictureSet]:
        """Each of ``pictures`` (N, 3, H, W) as a set of one picture (see ``picture_set``), read
        alone, so that its numbers do not depend on the pictures read with it."""
        return [self.picture_set(picture[None]) for picture in pictures]

    def measure(self, unit: int, pictures: PictureSet, noise: PictureSet,
                others: Mapping[int, PictureSet]) -> UnitTrust:
        """The unit's measures, its controls' on the same trials, and its verdict.

        Args:
            unit: the channel.
            pictures: its pictures (see ``picture_set``).
            noise: the recipe's starting images for the same seeds.
            others: other units of the layer -> their pictures (as many as the unit's).
        Returns:
            Its path curve, its choice scores, its trials, the controls' scores and the verdict.
        """
        s = self.settings
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + unit)
        top, bottom = self.stats.top_by_mean(unit), self.stats.bottom_by_mean(unit)
        ranked = [i for i, _v in top]
        top_path = ranked[:PATH_PHOTOS]
        random = self._random_photos(set(top_path), PATH_PHOTOS, generator)
        top_means, random_means = (self.photo_means(top_path), self.photo_means(random)) if self.layers else ({}, {})

        def path_of(references: PictureSet) -> PathCurve | None:
            return path_curve(references.means, top_means, random_means, self.folder_means) if self.layers else None

        q = query_count(s.trials)
        top_pool, weak_pool = ranked[:s.references + q], [i for i, _v in bottom[:q]]
        in_pools = set(top_pool + weak_pool)
        rest = [i for i in self.stats.readable if i not in in_pools]
        trials = draw_trials(top_pool, weak_pool, rest, s.references, s.trials, generator)
        judge = self.judge
        strong = judge.embed_photos(self.source, [t.strong for t in trials])
        weak = judge.embed_photos(self.source, [t.weak for t in trials])

        def correct(reference_embeddings: torch.Tensor, coins: torch.Generator) -> ChoiceScore:
            picks = observer_correct(reference_embeddings, strong, weak, coins, self.centre)
            return ChoiceScore(tuple(bool(v) for v in picks))

        def per_trial(photos: list[tuple[int, ...]]) -> torch.Tensor:
            flat = judge.embed_photos(self.source, [i for refs in photos for i in refs])
            return flat.reshape(len(photos), s.references, -1)

        by_pictures = correct(pictures.embeddings, generator)
        by_photos = correct(per_trial([t.references for t in trials]), generator)
        by_random = correct(per_trial([t.random_references for t in trials]), generator)

        def control(references: PictureSet) -> ControlScores:
            coins = torch.Generator().manual_seed(self.seed * 1_000_003 + unit + 1)  # the same ties for every control
            return ControlScores(path_of(references), correct(references.embeddings, coins))

        by_noise = control(noise)
        by_others = {other: control(references) for other, references in others.items()}
        verdict = decide(by_pictures, by_noise.choice, [o.choice for o in by_others.values()], by_photos,
                         s.false_positive)
        means = dict(top) | dict(bottom)
        return UnitTrust(unit, path_of(pictures), by_pictures, by_photos, by_random, trials, by_noise, by_others,
                         verdict, judge.layer, {i: means[i] for i in top_pool + weak_pool}, (top_path, random))

    def _random_photos(self, excluded: set[int], count: int, generator: torch.Generator) -> list[int]:
        """``count`` readable photos drawn at random, none of ``excluded``."""
        others = [i for i in self.stats.readable if i not in excluded]
        return [others[i] for i in torch.randperm(len(others), generator=generator)[:count].tolist()]


def measure_trust(meter: TrustMeter, units: Sequence[int], pictures: Sequence[torch.Tensor],
                  noise: Sequence[torch.Tensor]) -> list[UnitTrust]:
    """Every unit's measures, each unit's controls being its starting noise and the other units'
    pictures (see ``controls.other_units``).

    Args:
        meter: the layer's meter.
        units: the units.
        pictures: ``pictures[i]`` (R, 3, H, W) unit ``units[i]``'s pictures, as the network judges them.
        noise: ``noise[i]`` (R, 3, H, W) the recipe's starting images for those pictures' seeds.
    """
    sets = {u: meter.picture_set(p) for u, p in zip(units, pictures)}
    return [meter.measure(u, sets[u], meter.picture_set(n), {o: sets[o] for o in other_units(u, list(units))})
            for u, n in zip(units, noise)]
