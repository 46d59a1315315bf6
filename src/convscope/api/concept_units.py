"""Which concepts of a finished concepts folder weigh a unit most: the unit's side of a
dictionary, for a front end that shows a unit beside its concepts."""
from __future__ import annotations

from pathlib import Path

from convscope.methods.concepts.folder import PICTURES, ConceptFolder, concept_name
from convscope.models.base import VisionModel


def concepts_of_unit(model: VisionModel, folder: str | Path, unit: int, top: int = 3) -> list[dict]:
    """The ``top`` concepts whose atoms weigh ``unit`` most (positively), strongest first.

    Args:
        model: the network the concepts were learned on.
        folder: a finished concepts folder of the unit's layer.
        unit: the unit (a channel of that layer).
        top: how many concepts.
    Returns:
        For each: its index and name (``c012``), the atom's weight on the unit (atoms have unit
        norm), its label when it has one, and its page relative to ``folder``.
    Raises:
        ImageInputError: no finished concepts there, or concepts of another network.
    """
    concepts = ConceptFolder.open(folder, model)
    weights = concepts.dictionary.atoms[:, unit].float()
    order = weights.argsort(descending=True)[:top].tolist()
    records = {c.index: c for c in concepts.record.concepts}
    found = []
    for index in order:
        if float(weights[index]) <= 0:
            break
        record = records.get(index)
        words = (record.words if record is not None else None) or {}
        found.append({"concept": index, "name": concept_name(index), "weight": float(weights[index]),
                      "label": words.get("label") if words.get("labelled") else None,
                      "page": f"{PICTURES}/{concept_name(index)}.html"})
    return found
