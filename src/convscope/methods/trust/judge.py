"""The observer's eyes: a second network whose pooled features embed references and queries.

By default the judge reads its layer at the examined unit's depth (block2 of a network is
judged by an early layer of the judge, its head by the judge's last maps): a unit of an early
layer responds to colour and texture, which a judge's last layer, built to ignore them, cannot
tell apart. Every kind of reference of a unit (its pictures, its photos, the controls) is read
by the same layer, so the depth changes what the observer sees, never which reference it
favours. ``MODEL:LAYER`` fixes the layer instead."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from convscope.data.photo_sources import PhotoSource
from convscope.errors import ConvscopeError
from convscope.models import load
from convscope.models.base import VisionModel
from convscope.models.probe import Probe

DEFAULT_JUDGE = "efficientnet-lite2"
SECOND_JUDGE = "efficientnet-lite0"  # the judge of efficientnet-lite2 itself
EMBED_BATCH = 32


def default_judge(model_name: str) -> str:
    """The built-in network that judges ``model_name``'s units: always another one."""
    return SECOND_JUDGE if model_name == DEFAULT_JUDGE else DEFAULT_JUDGE


class Judge:
    """Embeds images as the channel means of one layer of a network (after its activation
    function), at its input size.

    Args:
        model: the judge network.
        layer: the layer it reads; None: the layer at the depth of the unit examined (see
            ``at_depth_of``), its last maps until then.
    """

    def __init__(self, model: VisionModel, layer: str | None = None) -> None:
        self.model = model
        self.at_depth = layer is None
        self.layer = last_maps(model) if layer is None else model.layer(layer).name
        self._photos: dict[int, torch.Tensor] = {}

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def reads(self) -> str:
        """Which layer it reads, in words."""
        return "its layer at the depth of the unit examined" if self.at_depth else self.layer

    def at_depth_of(self, examined: VisionModel, layer: str) -> "Judge":
        """The judge for units of ``examined``'s ``layer``: this one when its layer is fixed, else
        one reading the judge's map layer at the same relative depth (the position among the map
        layers, up to the last maps; a layer without maps, such as logits, is read at the last maps)."""
        if not self.at_depth:
            return self
        examined_maps, judge_maps = map_layers(examined), map_layers(self.model)
        name = examined.layer(layer).name
        if name not in examined_maps or len(examined_maps) < 2 or not judge_maps:
            return self._reading(last_maps(self.model))
        depth = examined_maps.index(name) / (len(examined_maps) - 1)
        return self._reading(judge_maps[round(depth * (len(judge_maps) - 1))])

    def _reading(self, layer: str) -> "Judge":
        """This judge's network reading ``layer``, as the judge at a unit's depth."""
        judge = Judge(self.model, layer)
        judge.at_depth = True
        return judge

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(N, D) embeddings of (N, 3, H, W) images in [0, 1]."""
        size = self.model.input_size
        if tuple(images.shape[-2:]) != (size, size):
            images = F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True,
                                   align_corners=False).clamp(0, 1)
        with torch.no_grad(), Probe(self.model, [self.layer]) as probe:
            a = self.model.layer(self.layer).as_used(probe(images.to(self.model.device))[self.layer]).float()
        return (a.flatten(2).mean(dim=2) if a.dim() > 2 else a).cpu()

    def embed_photos(self, source: PhotoSource, indices: list[int]) -> torch.Tensor:
        """(N, D) embeddings of photos of ``source``, each read and embedded once per judge."""
        missing = [i for i in dict.fromkeys(indices) if i not in self._photos]
        for start in range(0, len(missing), EMBED_BATCH):
            part = missing[start:start + EMBED_BATCH]
            for i, row in zip(part, self.embed(torch.cat([source.image(self.model, i) for i in part]))):
                self._photos[i] = row
        return torch.stack([self._photos[i] for i in indices])


def map_layers(model: VisionModel) -> list[str]:
    """The main layers with maps, up to the last maps (see ``last_maps``)."""
    last = model.last_conv_layer
    if last is None:
        return []
    return [*model.earlier_main_layers(last), last] if last in model.main_layers else [last]


def last_maps(model: VisionModel) -> str:
    """The network's last maps (its last conv layer; its last main layer when it has no maps)."""
    return model.last_conv_layer or model.main_layers[-1]


def load_judge(judge: "VisionModel | str | None", examined: VisionModel) -> Judge:
    """The judge of ``examined``'s units: a network given, one loaded by name (on the examined
    network's device), or by default another built-in network (see ``default_judge``); it reads
    its layer at the unit's depth, or the layer a name ``MODEL:LAYER`` gives.

    Raises:
        ConvscopeError: a judge that cannot load, the examined network's own name, or a layer
            the judge lacks.
    """
    if isinstance(judge, VisionModel):
        return Judge(judge)
    name, layer = split_judge(judge or default_judge(examined.name))
    if name == examined.name:
        raise judge_refused(f"the judge must be another network than the one examined ({name}): give "
                              f"{{judge}} {default_judge(name)}, or another network")
    try:
        model = load(name, device=str(examined.device))
    except ConvscopeError as error:
        raise judge_refused(f"cannot load the judge {name} ({error}): give {{judge}} a network that loads, "
                              f"such as {default_judge(examined.name)}") from error
    if layer is not None and layer not in model.layers and layer not in model.aliases:
        raise judge_refused(f"the judge {name} has no layer {layer!r}: give {{judge}} {name} (its layer at the "
                              f"unit's depth) or {name}:LAYER with one of {', '.join(map_layers(model))}")
    return Judge(model, layer)


def split_judge(text: str) -> tuple[str, str | None]:
    """``MODEL`` or ``MODEL:LAYER`` -> (the model, the layer or None); a path to a file that exists
    is a model whole, colon and all."""
    name, colon, layer = text.rpartition(":")
    if not colon or not name or Path(text).exists():
        return text, None
    return name, layer


def judge_refused(message: str) -> ConvscopeError:
    """A refusal of the ``judge`` option."""
    return ConvscopeError(message, options=["judge"])
