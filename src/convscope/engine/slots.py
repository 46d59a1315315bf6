"""Moving units between batches mid-render: a batch's state cut into one state per slot,
and slots stacked back into a batch, so a render can drop slots and regroup the rest.

A slot's state is every entry of the parameterization and of the optimizer that has the
slot as its first dimension. That works when slots do not share parameters (every built-in
parameterization) and the optimizer treats each slot alone (every built-in optimizer, and
torch's elementwise ones such as Adam); ``per_slot_entries`` checks the first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import nn

from convscope.engine.param import ImageBuilder
from convscope.errors import OutOfRangeError
from convscope.io.picture import Picture


@dataclass
class SlotState:
    """One slot between two stages of a render.

    Attributes:
        index: the slot's objective in the render's list.
        image: the parameterization's per-slot entries (first dimension 1), by name.
        optimizer: per parameter, the optimizer's per-slot entries (first dimension 1) and
            its shared ones (a step count), as a pair of dicts.
        history: (steps,) the objective at each step so far.
        importance: (H, W) the summed |gradient| so far, or None before any step.
        snapshots: the pictures kept so far, by step.
    """

    index: int
    image: dict[str, torch.Tensor]
    optimizer: list[tuple[dict[str, torch.Tensor], dict[str, object]]]
    history: torch.Tensor
    importance: torch.Tensor | None
    snapshots: dict[int, Picture] = field(default_factory=dict)


def per_slot_entries(builder: ImageBuilder, hw: tuple[int, int], device: torch.device) -> set[str]:
    """The names of a parameterization's entries that have one row per slot, found by building
    it for one and for two slots.

    Args:
        builder: the recipe's parameterization.
        hw: (height, width) of the images.
        device: where the parameters live.
    Returns:
        The per-slot entries' names (the others are constants shared by every slot).
    Raises:
        OutOfRangeError: a parameter shared between slots (slots are then not independent).
    """
    one, two = builder([0], hw, device), builder([0, 1], hw, device)
    shapes_two = {name: tuple(t.shape) for name, t in two.state_dict().items()}
    names = set()
    for name, tensor in one.state_dict().items():
        shape = tuple(tensor.shape)
        if shape and shape[0] == 1 and shapes_two.get(name) == (2, *shape[1:]):
            names.add(name)
    shared = [name for name, _p in one.named_parameters() if name not in names]
    if shared:
        raise OutOfRangeError(f"the parameterization shares {', '.join(shared)} between units, so units cannot "
                              "be dropped mid-render: select all of them ({select} full)", options=["select"])
    return names


def split_slots(image: nn.Module, optimizer: torch.optim.Optimizer, per_slot: set[str], indices: Sequence[int],
                history: torch.Tensor, importance: torch.Tensor | None,
                snapshots: dict[int, list[Picture]]) -> list[SlotState]:
    """A batch's state cut into its slots' states (tensors are copied, so the batch can go).

    Args:
        image: the batch's parameterization.
        optimizer: its optimizer.
        per_slot: the parameterization's per-slot entries (``per_slot_entries``).
        indices: the slots' objectives, in batch order.
        history: (steps, B) the objective per step.
        importance: (B, H, W) or None.
        snapshots: the pictures kept so far, by step.
    Returns:
        One state per slot, in batch order.
    """
    entries = {name: t.detach() for name, t in image.state_dict().items() if name in per_slot}
    params = list(image.parameters())
    states = optimizer.state_dict()["state"]
    slots = []
    for i, index in enumerate(indices):
        moments = []
        for k, param in enumerate(params):
            entries_k = states.get(k, {})
            moments.append(({key: value[i:i + 1].clone() for key, value in entries_k.items() if _is_slot_wise(value, param)},
                            {key: value for key, value in entries_k.items() if not _is_slot_wise(value, param)}))
        slots.append(SlotState(index, {name: t[i:i + 1].clone() for name, t in entries.items()}, moments,
                               history[:, i].clone(), None if importance is None else importance[i].clone(),
                               {step: pics[i] for step, pics in snapshots.items()}))
    return slots


def _is_slot_wise(value: object, param: torch.Tensor) -> bool:
    return isinstance(value, torch.Tensor) and value.shape == param.shape


def stack_slots(slots: Sequence[SlotState], image: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Loads ``slots`` into a freshly built batch of ``len(slots)`` slots: its parameterization
    and its optimizer continue where the slots left off.

    Args:
        slots: the slots' states, in batch order.
        image: the new batch's parameterization (built for the slots' seeds).
        optimizer: the new batch's optimizer (on ``image``'s parameters, before any step).
    """
    entries = {name: torch.cat([slot.image[name] for slot in slots]) for name in slots[0].image}
    image.load_state_dict(entries, strict=False)
    state: dict[int, dict[str, object]] = {}
    for k, (per_slot, shared) in enumerate(slots[0].optimizer):
        if per_slot or shared:
            state[k] = {**shared, **{key: torch.cat([slot.optimizer[k][0][key] for slot in slots]) for key in per_slot}}
    optimizer.load_state_dict({"state": state, "param_groups": optimizer.state_dict()["param_groups"]})
