"""Forward hooks on the named layers only, and a forward pass that stops after the deepest."""
from __future__ import annotations

from typing import Iterable

import torch

from convscope.models.base import EXTRA, INPUT, VisionModel


class _StopForward(Exception):
    """Raised from the deepest hook: the rest of the network is not needed."""


def _canonical(name: str, layer, output: torch.Tensor, image_hw: tuple[int, int]) -> torch.Tensor:
    """A layer's output in canonical form (B, C, H, W) or (B, C); for ``name#extra``, its class
    and register tokens (B, C, E), empty for a layer without them."""
    if name.endswith(EXTRA):
        extra = layer.layout.extra_tokens(output)
        return extra if extra is not None else output.new_zeros(output.shape[0], layer.channels, 0)
    return layer.layout.to_maps(output, image_hw)


class Probe:
    """Captures the outputs of ``layers``, in canonical form (see ``models.layouts``), and stops
    the forward pass right after the deepest.

    Use as a context manager; hooks are removed on every exit, errors and Ctrl-C included::

        with Probe(model, ["block8"]) as probe:
            acts = probe(images)          # {"block8": tensor}
    """

    def __init__(self, model: VisionModel, layers: Iterable[str]) -> None:
        self.model = model
        layers = list(layers)
        self.wants_input = INPUT in layers  # the image itself, for image penalties
        self.requested = {name: model.layer(name.removesuffix(EXTRA)) for name in layers if name != INPUT}
        if not self.requested and not self.wants_input:
            raise ValueError("a probe needs at least one layer")
        self.layers = list({layer.name: layer for layer in self.requested.values()}.values())
        self.deepest = max(self.layers, key=lambda layer: layer.order) if self.layers else None
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._acts: dict[str, torch.Tensor] = {}
        self._active = False  # hooks act only during this probe's own forward pass

    def __enter__(self) -> "Probe":
        for layer in self.layers:
            self._handles.append(layer.module.register_forward_hook(self._hook(layer.name)))
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Removes every hook this probe placed."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, name: str):
        stop = self.deepest is not None and name == self.deepest.name

        def hook(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> None:
            if not self._active:  # another forward pass of the same network (e.g. model.logits)
                return
            if name not in self._acts:  # a module called twice keeps its first output
                self._acts[name] = output
            if stop:
                raise _StopForward

        return hook

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Layer outputs (float32) for RGB images in [0, 1], keyed by the names asked for."""
        if not self._handles and self.layers:
            raise RuntimeError("use Probe as a context manager (with Probe(...) as probe)")
        self._acts = {}
        if self.layers:
            self._active = True
            try:
                with self.model.autocast():
                    self.model.net(self.model.preprocess(images))
            except _StopForward:
                pass
            finally:
                self._active = False
        hw = (int(images.shape[-2]), int(images.shape[-1]))
        acts = {name: _canonical(name, layer, self._acts[layer.name], hw).float()
                for name, layer in self.requested.items()}
        if self.wants_input:
            acts[INPUT] = images
        return acts
