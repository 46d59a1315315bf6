"""What a trust folder records, typed: ``trust.json``, the settings, the medians over the units
and each unit's measures. The JSON file keeps its keys and order."""
from __future__ import annotations

from dataclasses import dataclass

from convscope.runtime.record import Record


@dataclass(kw_only=True)
class TrustRecord(Record):
    """``trust.json``.

    Attributes:
        model, layer: the network and the layer measured.
        recipe, seed, precision: how the pictures were rendered (``Recipe.as_dict``).
        photos: the photos read.
        objective: what a picture maximizes ("the channel mean", or the centre neuron).
        read, after: where the layer is read, and the activation function after it (or None).
        trust: the trust settings (the judge, its layer, the trials and references).
        photos_folder: the folder the photos came from (None for photos given in memory).
        skipped_photos, skipped: how many photos were unreadable, and why.
        median_ratio, median_path_score, median_choice_pictures, median_choice_photos,
            median_choice_random: the medians over the units of each measure.
        median_path_noise, median_choice_noise, median_choice_other_units: the controls' medians
            (the recipe's starting noise; each unit's other units, their median first).
        verdicts: how many units got each verdict.
        units: each unit's row of measures, as ``convscope.stats`` gives it.
    """

    model: str
    layer: str
    recipe: dict
    seed: int
    precision: str
    photos: int
    objective: str
    read: str
    after: str | None
    trust: dict
    photos_folder: str | None
    skipped_photos: int
    skipped: list
    median_ratio: float | None
    median_path_score: float | None
    median_choice_pictures: float | None
    median_choice_photos: float | None
    median_choice_random: float | None
    median_path_noise: float | None
    median_choice_noise: float | None
    median_choice_other_units: float | None
    verdicts: dict
    units: list[dict]
