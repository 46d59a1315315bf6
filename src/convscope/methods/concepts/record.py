"""What a concepts folder records, typed: ``concepts.json``, with the dictionary's measures
beside the units baseline, each concept, and each class weighed. The file keeps its keys and
order."""
from __future__ import annotations

from dataclasses import dataclass

from convscope.data.atlas_record import ExemplarPhoto
from convscope.methods.concepts.effects import DeletionCheck
from convscope.runtime.record import Record, optional


@dataclass(kw_only=True)
class DictionaryMeasures(Record):
    """A dictionary's measures on the held-out photos (see ``methods.concepts.measures``); the
    units baseline has the same fields, without ``dead_concepts``."""

    explained_variance: float | None
    l0: float | None
    dead: int
    dead_concepts: list[int] | None = optional()
    dictionary_similarity: float
    stability: float
    held_out_vectors: int


@dataclass(kw_only=True)
class ConceptClass(Record):
    """A class a concept drives: the mean fall of its logit when the concept is removed."""

    index: int
    name: str
    logit_fall: float


@dataclass(kw_only=True)
class ConceptRecord(Record):
    """One concept: its share of the codes, its picture's activation, its top photos, the
    classes it drives, its importance for the classes weighed (by class index, as text), when
    measured its trust, where the photos give classes its label (``words``, as the atlas's
    units have it), and when asked its circuit in brief (as the atlas's units have it)."""

    index: int
    name: str
    frequency: float
    energy: float
    activation: float
    photos: list[ExemplarPhoto]
    classes: list[ConceptClass] | None = optional()
    importance: dict[str, float] | None = optional()
    path_score: float | None = optional(present_with="trust")
    choice_pictures: float | None = optional(present_with="trust")
    trust: dict | None = optional()
    words: dict | None = optional()
    circuit: dict | None = optional()


@dataclass(kw_only=True)
class ClassWeighing(Record):
    """A class the concepts were weighed for: its photos, each concept's Sobol total index, the
    concepts by importance, and the deletion check (absent when no photo is of the class)."""

    index: int
    name: str
    photos: int
    files: list[int] | None = optional()
    sobol_total: list[float] | None = optional(present_with="files")
    order: list[int] | None = optional(present_with="files")
    deletion: DeletionCheck | None = optional(present_with="files")


@dataclass(kw_only=True)
class ConceptsRecord(Record):
    """``concepts.json``: the settings (the folder's key), the photos read, the dictionary's
    measures beside the units baseline, every concept and class, and the trust settings (or why
    trust was not measured)."""

    settings: dict
    key: str
    photos: int
    photos_read: int
    skipped: list[dict]
    held_out_photos: int
    training_vectors: int
    map_size: list[int]
    root: str
    measures: DictionaryMeasures
    units_baseline: DictionaryMeasures
    concepts: list[ConceptRecord]
    classes: list[ClassWeighing]
    trust: str | dict = "not measured: no judge"

    @property
    def model(self) -> str:
        """The network's name."""
        return str(self.settings["model"])

    def baseline_note(self) -> str | None:
        """A plain sentence when the dictionary explains less of the held-out variance than the
        units baseline does (None when it explains as much or more, or nothing was held out)."""
        ours, units = self.measures.explained_variance, self.units_baseline.explained_variance
        if ours is None or units is None or ours >= units:
            return None
        return (f"These {len(self.concepts)} concepts explain less of the held-out variance ({ours:.3f}) than the "
                f"{self.settings['k']} largest units of each vector ({units:.3f}): as a summary of the layer, the "
                "units do better. More concepts explain more (see the documentation's measured sizes).")

    @property
    def layer(self) -> str:
        """The layer's name."""
        return str(self.settings["layer"])

    @property
    def method(self) -> str:
        """The dictionary method."""
        return str(self.settings["method"])
