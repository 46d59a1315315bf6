"""The model registry: ``load(name)`` gives a VisionModel with real weights. The names below load
on first use (``convscope.runtime.lazy``), so that listing the commands needs no torch."""
from __future__ import annotations

from typing import TYPE_CHECKING

from convscope.runtime.lazy import lazy_exports

if TYPE_CHECKING:
    from convscope.models.base import Layer, VisionModel
    from convscope.models.layouts import Layout
    from convscope.models.loading import NEEDS_WEIGHTS, as_model, available, load, load_architecture
    from convscope.models.registry import register_model
    from convscope.models.user import wrap
    from convscope.models.weights import read_weights

DEFAULT_MODEL = "efficientnet-lite0"

__all__ = ["DEFAULT_MODEL", "Layer", "Layout", "NEEDS_WEIGHTS", "VisionModel", "as_model", "available", "load",
           "load_architecture", "read_weights", "register_model", "wrap"]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
