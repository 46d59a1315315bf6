"""What ``labels`` finds: each unit's label (or "no label"), its AUC and corrected p-value, the
classes it names, where the classes came from, and search over the labels."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from convscope.io.notebook import fields_html, table_html
from convscope.methods.labels.labeller import MAX_P, MIN_AUC

NO_LABEL = "no label"
RULE = (f"A unit's label is the WordNet group of the photos' classes (or an OR of two) whose classes best separate "
        f"the photos by the unit's mean activation (AUC); it holds when its AUC is at least {MIN_AUC} and its p-value, "
        f"from the same search on shuffled photos (so corrected for every label tried), is at most {MAX_P}; else the "
        f"unit has no label.")
SOURCES = {"subfolders": "the folder's class subfolders",
           "file names": "the WordNet synsets that start the photos' file names",
           "predictions": "the network's own top class of each photo (so the label is partly about the network's "
                          "output)"}


def words_of(texts: Iterable[str]) -> list[str]:
    """The lower-case words of ``texts`` ("block8:12" stays one word)."""
    return [w for text in texts for w in re.split(r"[^\w:-]+", text.lower()) if w]


def matches(query: str, words: Iterable[str]) -> bool:
    """Whether every word of ``query`` starts one of ``words`` (so "dog" finds "toy dog" and
    "dog sled" but not "hotdog"). The search boxes of the pages use the same rule."""
    held = list(words)
    return all(any(w.startswith(q) for w in held) for q in words_of([query])) and bool(words_of([query]))


@dataclass(frozen=True)
class UnitLabel:
    """One unit's label: its text (``NO_LABEL`` when none holds), the best candidate found (even
    when it does not hold), its AUC and p-value, the classes it names, the WordNet synsets of
    its groups (None for a group that is a class without one) and the names of the synsets above
    them (so a search for "dog" finds a unit labelled "retriever")."""

    unit: int
    label: str
    best: str
    auc: float
    p_value: float
    classes: tuple[str, ...]
    synsets: tuple[str | None, ...]
    broader: tuple[str, ...] = ()

    @property
    def labelled(self) -> bool:
        return self.label != NO_LABEL

    def search_words(self, layer: str) -> list[str]:
        """What a search finds the unit by: its name, and when it has a label, the label, its
        classes and the names above it."""
        return words_of([f"{layer}:{self.unit}", *([self.label, *self.classes, *self.broader] if self.labelled else [])])

    def to_json(self) -> dict[str, Any]:
        return {"unit": self.unit, "label": self.label, "labelled": self.labelled, "best": self.best,
                "auc": round(self.auc, 6), "p_value": round(self.p_value, 6), "classes": list(self.classes),
                "synsets": list(self.synsets), "broader": list(self.broader)}


@dataclass
class Labels:
    """The labels of some units of one layer.

    Attributes:
        model: the network's name.
        layer: the layer.
        source: where the photos' classes came from (a key of ``SOURCES``).
        photos: the photos read.
        classes: the distinct classes among them.
        tried: the labels each unit's search tries (groups, and pairs for "a OR b").
        settings: the options (permutations, min_photos, seed).
        units: each unit's label.
    """

    model: str
    layer: str
    source: str
    photos: int
    classes: int
    tried: int
    settings: dict[str, Any]
    units: list[UnitLabel] = field(default_factory=list)

    @property
    def labelled_share(self) -> float:
        """The share of the units with a label."""
        return sum(u.labelled for u in self.units) / max(len(self.units), 1)

    def unit(self, unit: int) -> UnitLabel:
        """Unit ``unit``'s label.

        Raises:
            KeyError: a unit that was not labelled.
        """
        for found in self.units:
            if found.unit == unit:
                return found
        raise KeyError(f"unit {unit} of {self.layer} was not labelled")

    def search(self, text: str) -> list[UnitLabel]:
        """The units found by ``text`` (any case; see ``matches``) in their name (``layer:unit``)
        or, for a unit with a label, its label, its classes and the names above it; units with a
        label first, by AUC."""
        found = [u for u in self.units if matches(text, u.search_words(self.layer))]
        return sorted(found, key=lambda u: (not u.labelled, -u.auc, u.unit))

    def to_json(self) -> dict[str, Any]:
        """Everything measured, with the rule, as JSON values."""
        return {"model": self.model, "layer": self.layer, "source": self.source, "source_text": SOURCES[self.source],
                "photos": self.photos, "classes": self.classes, "labels_tried": self.tried, "settings": self.settings,
                "rule": RULE, "labelled_share": round(self.labelled_share, 6),
                "units": [u.to_json() for u in self.units]}

    def _repr_html_(self) -> str:
        head = fields_html(f"{self.model} {self.layer}: labels", {
            "classes from": SOURCES[self.source], "photos": self.photos, "classes": self.classes,
            "labels tried per unit": self.tried, "units with a label": f"{self.labelled_share:.0%}"})
        rows = [{"unit": u.unit, "label": u.label, "best candidate": u.best, "AUC": round(u.auc, 3),
                 "p": round(u.p_value, 4)} for u in self.units]
        return head + table_html(RULE, rows)
