"""Forward hooks on the named layers only, and a forward pass that stops after the deepest."""
from __future__ import annotations

from typing import Iterable

import torch

from .models.base import VisionModel


class _StopForward(Exception):
    """Raised from the deepest hook: the rest of the network is not needed."""


class Probe:
    """Captures the outputs of ``layers`` and stops the forward pass right after the deepest.

    Use as a context manager; hooks are removed on every exit, errors and Ctrl-C included::

        with Probe(model, ["block8"]) as probe:
            acts = probe(images)          # {"block8": tensor}
    """

    def __init__(self, model: VisionModel, layers: Iterable[str]) -> None:
        self.model = model
        self.requested = {name: model.layer(name) for name in layers}
        if not self.requested:
            raise ValueError("a probe needs at least one layer")
        self.layers = list({layer.name: layer for layer in self.requested.values()}.values())
        self.deepest = max(self.layers, key=lambda layer: layer.order)
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._acts: dict[str, torch.Tensor] = {}

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
        stop = name == self.deepest.name

        def hook(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> None:
            if name not in self._acts:  # a module called twice keeps its first output
                self._acts[name] = output
            if stop:
                raise _StopForward

        return hook

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Layer outputs (float32) for RGB images in [0, 1], keyed by the names asked for."""
        if not self._handles:
            raise RuntimeError("use Probe as a context manager (with Probe(...) as probe)")
        self._acts = {}
        try:
            with self.model.autocast():
                self.model.net(self.model.preprocess(images))
        except _StopForward:
            pass
        return {name: self._acts[layer.name].float() for name, layer in self.requested.items()}
