"""The model registry: ``load(name)`` gives a VisionModel with real weights."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import unknown
from . import efficientnet_lite
from .base import Layer, VisionModel

DEFAULT_MODEL = "efficientnet-lite0"

_BUILDERS: dict[str, tuple[Callable[..., VisionModel], str]] = {
    "efficientnet-lite0": (lambda w: efficientnet_lite.build("efficientnet-lite0", w),
                           "EfficientNet-Lite0, ImageNet, 224 px (default)"),
    "efficientnet-lite2": (lambda w: efficientnet_lite.build("efficientnet-lite2", w),
                           "EfficientNet-Lite2, ImageNet, 260 px"),
}


def available() -> dict[str, str]:
    """Model names and one line about each."""
    return {name: about for name, (_build, about) in _BUILDERS.items()}


def load(name: str = DEFAULT_MODEL, weights: str | Path | None = None, device: str = "cpu") -> VisionModel:
    """The model called ``name``, in eval mode on ``device``."""
    if name not in _BUILDERS:
        raise unknown("model", name, _BUILDERS)
    model = _BUILDERS[name][0](weights)
    return model.to(device)


__all__ = ["DEFAULT_MODEL", "Layer", "VisionModel", "available", "load"]
