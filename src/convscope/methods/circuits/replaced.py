"""A target read through an earlier layer (a ``Link``): the forward pass with that layer's output
replaced by given maps, and what the later layers then compute. The part before the layer runs
on the real photos, so skip connections around the layer keep their real values; a token layer
keeps its class and register tokens."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from convscope.engine.objectives import Objective
from convscope.models.base import EXTRA, INPUT, VisionModel
from convscope.models.probe import Probe
from convscope.models.suffix import stand_in_images


def acts_with_input(model: VisionModel, layers: Sequence[str], input_layer: str, maps: torch.Tensor,
                    images: torch.Tensor) -> dict[str, torch.Tensor]:
    """The outputs of ``layers`` (canonical, float32) when ``input_layer`` outputs ``maps``; the
    part before it runs on small gray images where that gives the same (see
    ``models.suffix.stand_in_images``).

    Args:
        model: the network.
        layers: the later layers to read (the pass stops after the deepest).
        input_layer: the layer replaced.
        maps: (B, C, H, W) or (B, C) canonical maps as the network uses them (after the
            activation function convscope reads the layer before, which is idempotent: ReLU, ReLU6).
            Gradients flow back to them.
        images: (B, 3, S, S) in [0, 1]: the photos the maps stand in for.
    Returns:
        ``{layer: tensor}`` for every layer of ``layers``.
    """
    info = model.layer(input_layer)

    def hook(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor:
        return info.layout.from_maps(maps.to(output.dtype), output)

    tokens = any(model.layer(name.removesuffix(EXTRA)).layout.kind == "tokens" for name in layers if name != INPUT)
    fed = images if tokens else stand_in_images(model, info.name, images, len(maps))  # a token grid needs the real size
    handle = info.module.register_forward_hook(hook)
    try:
        with Probe(model, layers) as probe:
            return probe(fed)
    finally:
        handle.remove()


@dataclass(frozen=True)
class Link:
    """A target (an objective, one value per photo) and the earlier layer its inputs come from."""

    model: VisionModel
    objective: Objective
    input_layer: str

    def read(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """The photos' outputs of the input layer and of the layers the target reads, in one pass."""
        with torch.no_grad(), Probe(self.model, [self.input_layer, *self.objective.layers]) as probe:
            return probe(images)

    def input_maps(self, acts: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """From ``read``'s outputs: the input layer's maps as the network uses them, and the target."""
        return self.model.layer(self.input_layer).as_used(acts[self.input_layer]), self.objective(acts).float()

    def target_with(self, maps: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """(B,): the target when the input layer outputs ``maps`` (gradients flow to them)."""
        return self.objective(acts_with_input(self.model, self.objective.layers, self.input_layer, maps,
                                              images)).float()
