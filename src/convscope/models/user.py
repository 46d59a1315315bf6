"""Any PyTorch network: ``wrap(module, ...)``, and ``file.py:factory`` on the command line."""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from convscope.errors import ConvscopeError, WeightsError
from convscope.io.user_code import call_user_function
from convscope.models.base import LOGITS, VisionModel
from convscope.models.layouts import Layout


class UserModelError(ConvscopeError):
    """A user's model file or factory that cannot be used."""


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


def wrap(module: nn.Module, preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
         input_size: int = 224, labels: Sequence[str] | None = None, name: str | None = None,
         min_size: int = 32, layouts: dict[str, Layout | str] | None = None) -> VisionModel:
    """A VisionModel for any network.

    Every submodule from ``named_modules`` that the forward pass calls is a layer (a module
    called several times is read at its first call); the network's output is the layer
    ``logits``. Each layer's layout is found from its output ((B, C, H, W) maps, (B, N, C)
    tokens with up to 8 class or register tokens before a square patch grid, (B, H, W, C)
    channels-last maps, (B, C) vectors).

    Args:
        module: the network.
        preprocess: maps RGB in [0, 1] to the network's input (default: none).
        input_size: the side of the images the network was trained on.
        labels: class names, by index.
        name: the model's name (default: the module's class).
        min_size: the smallest side the network takes.
        layouts: layouts where the guess would be wrong, e.g.
            ``{"blocks.3": Layout("tokens", grid=(14, 14), extra=5)}`` or ``{"stage2": "channels_last"}``.
    Returns:
        The VisionModel.
    Raises:
        UserModelError: a network whose forward pass fails on an image of ``input_size``.
    """
    if not isinstance(module, nn.Module):
        raise UserModelError(f"expected a torch.nn.Module, got {type(module).__name__}")
    layer_modules = {n: (m, type(m).__name__) for n, m in module.named_modules() if n and n != LOGITS}
    layer_modules[LOGITS] = (module, "output")
    main = main_layer_names(module)
    return VisionModel(
        name=name or type(module).__name__,
        net=module,
        preprocess=preprocess or identity,
        input_size=input_size,
        labels=labels,
        layer_modules=layer_modules,
        description=f"{type(module).__name__} (user network)",
        min_size=min_size,
        main_layer_names=main,
        layouts=dict(layouts or {}),
    )


def main_layer_names(module: nn.Module) -> tuple[str, ...] | None:
    """The convolutions, the blocks (numbered children that hold modules, as ``layer1.0`` or
    ``blocks.7``) and the logits; None (every layer) for a network with neither."""
    names = []
    for name, m in module.named_modules():
        if not name or name == LOGITS:
            continue
        is_block = name.rsplit(".", 1)[-1].isdigit() and any(True for _ in m.children())
        if isinstance(m, nn.Conv2d) or is_block:
            names.append(name)
    return (*names, LOGITS) if names else None


def load_factory(spec: str) -> VisionModel:
    """``path/to/file.py:factory``: calls ``factory()``, which returns a module, a
    ``(module, preprocess)`` pair, or a VisionModel (from ``wrap``)."""
    made = call_user_function(spec, "model", UserModelError)
    if isinstance(made, VisionModel):
        return made
    if isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], nn.Module) and callable(made[1]):
        return wrap(made[0], preprocess=made[1], name=spec)
    if isinstance(made, nn.Module):
        return wrap(made, name=spec)
    raise UserModelError(f"{spec}() returned {type(made).__name__}; it must return a "
                         "torch.nn.Module, a (module, preprocess) pair, or convscope.models.wrap(...)")


__all__ = ["UserModelError", "WeightsError", "load_factory", "wrap"]
