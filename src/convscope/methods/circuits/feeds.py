"""What a unit (or a concept) feeds: the units of the next main layer and the classes whose
activation falls most when the unit is set to its baseline (the folder's mean), or the concept's
code to the baseline's, on the photos that excite it."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from convscope.methods.circuits.replaced import acts_with_input
from convscope.models.base import VisionModel
from convscope.models.probe import Probe


@dataclass
class Feeds:
    """The units of ``layer`` (the next main layer) and the classes a unit drives, as the drop
    of their mean on the unit's top photos when the unit is ablated; negative: it suppresses them."""

    layer: str | None
    units: list[dict]  # [{"unit", "drop", "share"}]: most driven first, then the most suppressed
    classes: list[dict]  # [{"index", "name", "drop"}]: logits, most driven first


def next_main_layer(model: VisionModel, layer: str) -> str | None:
    """The first main layer after ``layer`` with positions or channels of its own (not the logits)."""
    order = model.layer(layer).order
    later = [name for name in model.main_layers if model.layers[name].order > order and name != model.logits_layer]
    return later[0] if later else None


def _means(maps: torch.Tensor) -> torch.Tensor:
    return maps.flatten(2).mean(dim=2) if maps.dim() > 2 else maps


def unit_feeds(model: VisionModel, layer: str, unit: int, images: torch.Tensor, baseline: float, top: int,
               maps: torch.Tensor | None = None) -> Feeds:
    """The ``top`` units of the next main layer and classes that ``unit`` of ``layer`` drives
    most, and the ``top`` // 2 it suppresses most, on ``images`` (its top photos), whose maps of
    ``layer`` as the network uses them are ``maps`` when the caller has them."""
    info = model.layer(layer)
    if maps is None:
        with torch.no_grad(), Probe(model, [info.name]) as probe:
            maps = info.as_used(probe(images)[info.name])
    ablated = maps.clone()
    ablated[:, unit] = baseline
    return feeds_of(model, info.name, images, maps, ablated, top)


def feeds_of(model: VisionModel, layer: str, images: torch.Tensor, maps: torch.Tensor, ablated: torch.Tensor,
             top: int) -> Feeds:
    """The ``top`` units of the next main layer after ``layer`` and classes that fall most (and
    the ``top`` // 2 that rise most) on ``images`` when ``layer`` outputs ``ablated`` in place of
    its ``maps`` (both as the network uses them)."""
    following = next_main_layer(model, layer)
    read = [name for name in (following, model.logits_layer) if name is not None]
    if not read:
        return Feeds(None, [], [])
    with torch.no_grad():
        both = acts_with_input(model, read, layer, torch.cat([maps, ablated]), torch.cat([images, images]))
        full = {name: value[:len(images)] for name, value in both.items()}
        cut = {name: value[len(images):] for name, value in both.items()}
    units: list[dict] = []
    if following is not None:
        before, after = _means(full[following]).mean(dim=0), _means(cut[following]).mean(dim=0)
        drop = before - after
        order = drop.argsort(descending=True)
        chosen = [*order[:top].tolist(), *[u for u in order.flip(0)[:top // 2].tolist() if drop[u] < 0]]
        units = [{"unit": u, "drop": float(drop[u]), "share": float(drop[u] / before[u].abs().clamp_min(1e-12))}
                 for u in dict.fromkeys(chosen)]
    classes: list[dict] = []
    if model.logits_layer is not None:
        drop = (full[model.logits_layer] - cut[model.logits_layer]).mean(dim=0)
        classes = [{"index": int(k), "name": model.class_name(int(k)), "drop": float(drop[k])}
                   for k in drop.argsort(descending=True)[:top].tolist()]
    return Feeds(following, units, classes)
