"""What a circuit explains: a unit (``block8:12``), a class (``logits:tabby`` or ``logits:281``),
a concept of a concepts folder (``concepts-head:c012``: its direction, as its picture renders
it) or an objective in the text form (``block8:12 - 0.5*block8:40``), and the layers its inputs
come from."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from convscope.engine.objective_text import parse_objective
from convscope.engine.objectives import Objective, channel, direction
from convscope.errors import OutOfRangeError
from convscope.methods.concepts.folder import CONCEPTS_FILE, ConceptFolder, concept_name
from convscope.models.base import EXTRA, INPUT, LOGITS, VisionModel
from convscope.models.classes import resolve_class

NOT_PER_PHOTO = ("diversity(", "alignment(", "channel_interpolate(")  # objectives of a whole batch, not of a photo


@dataclass(frozen=True)
class CircuitTarget:
    """A target: its objective (one value per photo), a readable label, the unit it is (layer
    and channel) when it is one unit or class, the shallowest layer it reads, and for a concept
    its name (``concepts-head:c012``) and picture; and where the circuit's photo pass keeps its
    top photos (``pass_index``: the root's objective, or a concept's direction)."""

    objective: Objective
    label: str
    unit: tuple[str, int] | None
    layer: str
    name: str | None = None
    picture: Path | None = None
    pass_index: int = 0  # its objective's place in the circuit's photo pass (0: the root's)

    @property
    def key(self) -> str:
        """The node's name in a circuit's graph: ``layer:unit``, a concept's name, or the objective's text."""
        if self.unit is not None:
            return f"{self.unit[0]}:{self.unit[1]}"
        return self.name if self.name is not None else str(self.objective)


def unit_target(model: VisionModel, layer: str, unit: int) -> CircuitTarget:
    """The target of one unit (a class on the logits layer)."""
    name = model.layer(layer).name
    model.check_channel(name, unit)
    label = f"{name}:{unit}"
    if name == model.logits_layer and model.labels is not None:
        label += f" ({model.class_name(unit)})"
    return CircuitTarget(channel(name, unit), label, (name, unit), name)


def parse_target(model: VisionModel, text: str) -> CircuitTarget:
    """The target written as ``layer:unit``, ``logits:NAME|INDEX`` or an objective's text.

    Raises:
        UnknownNameError: an unknown layer or class.
        OutOfRangeError: a unit or concept out of range, or an objective that reads the image or
            a whole batch rather than one photo.
        ImageInputError: a folder that holds no finished concepts of this network.
        ObjectiveSyntaxError: text that does not parse.
    """
    text = text.strip()
    head, _, tail = text.rpartition(":")
    if head and Path(head).is_dir() and ((Path(head) / CONCEPTS_FILE).is_file() or head not in model.layers):
        return concept_target(model, head, tail)
    head, _, tail = text.partition(":")
    if head == LOGITS and model.logits_layer is not None and tail and not tail.strip()[:1].isdigit() \
            and not re.search(r"[+*/()@]", tail):
        return unit_target(model, LOGITS, resolve_class(model, tail.strip()))
    objective = parse_objective(text)
    if objective.unit is not None:
        return unit_target(model, *objective.unit)
    if INPUT in objective.layers or any(part in str(objective) for part in NOT_PER_PHOTO):
        raise OutOfRangeError(f"the target {text!r} is not a value of one photo's activations: give units, classes "
                              "or their sums, without image penalties (l1(), tv(), blur()) or batch objectives")
    layers = [model.layer(name.removesuffix(EXTRA)) for name in objective.layers]
    objective.validate(model, model.input_size)
    return CircuitTarget(objective, str(objective), None, min(layers, key=lambda layer: layer.order).name)


def concept_number(folder: ConceptFolder, text: str) -> int:
    """The concept ``text`` names (``c012`` or ``12``) in ``folder``.

    Raises:
        OutOfRangeError: not a concept's name, or one the folder does not have.
    """
    match = re.fullmatch(r"c?(\d+)", text.strip())
    if match is None or int(match.group(1)) >= folder.count:
        raise OutOfRangeError(f"{text!r} is not a concept of {folder.root}: give c000 to "
                              f"{concept_name(folder.count - 1)}")
    return int(match.group(1))


def concept_target(model: VisionModel, folder: str | Path, text: str) -> CircuitTarget:
    """The target of a concept of a concepts folder, named by ``text`` (``c012``)."""
    found = ConceptFolder.open(folder, model)
    return folder_concept(model, found, concept_number(found, text))


def folder_concept(model: VisionModel, folder: ConceptFolder, concept: int, pass_index: int = 0) -> CircuitTarget:
    """The target of concept ``concept`` of ``folder``: its direction at the layer it was learned on
    (the objective its picture maximizes), its top photos at ``pass_index`` of the photo pass."""
    name = f"{folder.root.name}:{concept_name(concept)}"
    return CircuitTarget(direction(folder.layer, folder.dictionary.atoms[concept]), f"{folder.layer} concept {name}",
                         None, model.layer(folder.layer).name, name, folder.picture_path(concept), pass_index)


def input_layer_for(model: VisionModel, target_layer: str, given: str | None) -> str:
    """The layer a target's inputs come from: ``given``, or the main layer before ``target_layer``.

    Raises:
        UnknownNameError: an unknown layer.
        OutOfRangeError: a layer at or after the target's, or a target with no layer before it.
    """
    target = model.layer(target_layer)
    if given is not None:
        chosen = model.layer(given)
        if chosen.order >= target.order:
            raise OutOfRangeError(f"{{from_layer}} {chosen.name} is at or after the target's layer {target.name}: give "
                                  "an earlier layer", options=["from_layer"])
        return chosen.name
    earlier = model.earlier_main_layers(target.name)
    if not earlier:
        raise OutOfRangeError(f"{target.name} is {model.name}'s first layer: nothing comes before it to build it")
    return earlier[-1]
