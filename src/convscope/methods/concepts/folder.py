"""A finished concepts folder's files, read back for other methods (a circuit over concepts):
its record, its dictionary, and where each concept's picture and page are."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from convscope.errors import ImageInputError
from convscope.methods.concepts.dictionary import ConceptDictionary
from convscope.methods.concepts.record import ConceptsRecord
from convscope.models.base import VisionModel

CONCEPTS_FILE = "concepts.json"
DICTIONARY_FILE = "dictionary.safetensors"
PICTURES = "concepts"  # the subfolder of each concept's picture and page


def concept_name(index: int) -> str:
    """Concept ``index``'s name, as its files and pages are named: ``c012``."""
    return f"c{index:03d}"


@dataclass(frozen=True)
class ConceptFolder:
    """A finished concepts folder: where it is, its record (concepts.json) and its dictionary."""

    root: Path
    record: ConceptsRecord
    dictionary: ConceptDictionary

    @classmethod
    def open(cls, folder: str | Path, model: VisionModel) -> "ConceptFolder":
        """The concepts in ``folder`` (written by the concepts command), for ``model``.

        Raises:
            ImageInputError: no finished concepts there, or concepts of another network.
            RecordError: a concepts.json this version cannot read.
        """
        root = Path(folder)
        if not (root / CONCEPTS_FILE).is_file():
            raise ImageInputError(f"{root} holds no finished concepts (no {CONCEPTS_FILE}): run the concepts "
                                  "command into it first")
        record = ConceptsRecord.from_json(json.loads((root / CONCEPTS_FILE).read_text()), str(root / CONCEPTS_FILE))
        if record.model != model.name:
            raise ImageInputError(f"the concepts in {root} are of {record.model}, not {model.name}: use that network")
        dictionary, _ = ConceptDictionary.load(root / DICTIONARY_FILE)
        return cls(root, record, dictionary)

    @property
    def layer(self) -> str:
        return self.record.layer

    @property
    def count(self) -> int:
        return self.dictionary.concepts

    def picture_path(self, concept: int) -> Path:
        """The rendered picture of ``concept``."""
        return self.root / PICTURES / f"{concept_name(concept)}.png"

    def page_path(self, concept: int) -> Path:
        """The page of ``concept``."""
        return self.root / PICTURES / f"{concept_name(concept)}.html"
