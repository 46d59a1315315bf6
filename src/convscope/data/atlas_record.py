"""What an atlas folder records, typed: each unit's record (``units/LAYER/NNNN.json``) and
``atlas.json``, every unit layer by layer. The JSON files keep their keys and order."""
from __future__ import annotations

from dataclasses import dataclass

from convscope.runtime.record import Record, optional


@dataclass(kw_only=True)
class TopPhoto(Record):
    """One of the photos that excite a unit most: its name, the unit's peak on it, and where."""

    photo: str
    peak: float
    position: list[int] | None


@dataclass(kw_only=True)
class ClassDrive(Record):
    """A class a unit drives: the mean gain of its logit per unit of the unit's activation."""

    index: int
    name: str
    drive: float


@dataclass(kw_only=True)
class ExemplarPhoto(Record):
    """A photo of an exemplars folder that excites a unit most: its file, the peak and where."""

    file: str
    peak: float
    position: list[int]


@dataclass(kw_only=True)
class UnitExemplars(Record):
    """A unit's top photos of an exemplars folder, and its means over that folder."""

    photos: list[ExemplarPhoto]
    dataset_photos: int
    best_mean: float
    mean: float


@dataclass(kw_only=True)
class UnitRecord(Record):
    """One finished unit of an atlas.

    Attributes:
        layer, channel: the unit.
        objective: the objective its picture maximizes.
        activation, photo_max, ratio: its picture's activation, the best photo's, their ratio.
        top_photos: the photos that excite it most.
        after, activation_after, photo_max_after, ratio_after: the same after the layer's
            activation function (for a layer read before it).
        kernel: True for a first convolution's unit (its kernel is pictured).
        importance: the summary of its picture's importance map.
        class_name: its class, for a unit of the logits.
        drives: the classes it drives most.
        path_score, choice_pictures, choice_photos, verdict, trust: the trust measures, when
            measured: the verdict ("shows", "does not", "cannot say") and, in ``trust``, the
            controls and the tests behind the verdict.
        exemplars: its top photos of an exemplars folder.
        circuit: with photos, its circuit in brief: the units of the main layer before that
            build it most, the shares its top inputs and random ones explain, what it feeds.
        words: with photos that give classes, its label (see ``convscope.labels``): the label or
            "no label", the best candidate, its AUC and p-value, its classes, the names above them
            and where the classes came from.
    """

    layer: str
    channel: int
    objective: str | None = optional()
    activation: float
    photo_max: float
    ratio: float | None
    top_photos: list[TopPhoto]
    after: str | None = optional()
    activation_after: float | None = optional(present_with="after")
    photo_max_after: float | None = optional(present_with="after")
    ratio_after: float | None = optional(present_with="after")
    kernel: bool | None = optional()
    importance: dict | None = optional()
    class_name: str | None = optional()
    drives: list[ClassDrive] | None = optional()
    path_score: float | None = optional(present_with="trust")
    choice_pictures: float | None = optional(present_with="trust")
    choice_photos: float | None = optional(present_with="trust")
    verdict: str | None = optional(present_with="trust")
    trust: dict | None = optional()
    exemplars: UnitExemplars | None = optional()
    circuit: dict | None = optional()
    words: dict | None = optional()

    @property
    def label(self) -> str:
        """'block8:12', with the class's name for a unit of the logits."""
        return f"{self.layer}:{self.channel}" + (f" ({self.class_name})" if self.class_name else "")


@dataclass(kw_only=True)
class AtlasLayer(Record):
    """One layer of ``atlas.json``: its units, their medians, with trust how many units got each
    verdict, and with labels how many units have one."""

    name: str
    kind: str
    channels: int
    shape: list[int]
    median_ratio: float | None
    units: list[UnitRecord]
    median_path_score: float | None = optional(present_with="median_choice_pictures")
    median_choice_pictures: float | None = optional()
    verdicts: dict | None = optional(present_with="median_choice_pictures")
    labelled: int | None = optional()
    read: str | None = optional()
    median_ratio_after: float | None = optional(present_with="read")


@dataclass(kw_only=True)
class AtlasRecord(Record):
    """``atlas.json``: the network, the settings (``config``, as atlas-config.json holds them),
    how many photos the statistics read, and every layer."""

    model: str
    description: str
    config: dict
    photos: int
    layers: list[AtlasLayer]
