"""What a circuit explains: a unit (``block8:12``), a class (``logits:tabby`` or ``logits:281``)
or an objective in the text form (``block8:12 - 0.5*block8:40``), and the layers its inputs
come from."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from convscope.engine.objective_text import parse_objective
from convscope.engine.objectives import Objective, channel
from convscope.errors import OutOfRangeError
from convscope.models.base import EXTRA, INPUT, LOGITS, VisionModel
from convscope.models.classes import resolve_class

NOT_PER_PHOTO = ("diversity(", "alignment(", "channel_interpolate(")  # objectives of a whole batch, not of a photo


@dataclass(frozen=True)
class CircuitTarget:
    """A target: its objective (one value per photo), a readable label, the unit it is (layer
    and channel) when it is one unit or class, and the shallowest layer it reads."""

    objective: Objective
    label: str
    unit: tuple[str, int] | None
    layer: str

    @property
    def key(self) -> str:
        """The node's name in a circuit's graph: ``layer:unit``, or the objective's text."""
        return f"{self.unit[0]}:{self.unit[1]}" if self.unit is not None else str(self.objective)


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
        OutOfRangeError: a unit out of range, a concepts folder, or an objective that reads the
            image or a whole batch rather than one photo.
        ObjectiveSyntaxError: text that does not parse.
    """
    text = text.strip()
    head, _, tail = text.partition(":")
    if tail and Path(head).is_dir():
        raise OutOfRangeError(f"{head} is a folder: a concept cannot be a circuit's target yet; give a unit "
                              "(block8:12), a class (logits:tabby) or an objective")
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
