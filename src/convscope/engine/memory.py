"""How much memory a render needs, estimated before it starts, and a refusal that says what fits.

The estimate counts the elements every module outputs on the way to the deepest layer an
objective reads (measured once per model by one small forward pass), scales them to the
image size and batch, and allows for the backward pass and the transforms' padding.
"""
from __future__ import annotations

import math
import os
import weakref
from typing import Sequence

import torch

from convscope.errors import OutOfRangeError
from convscope.models.base import INPUT, VisionModel

BYTES = 4  # float32 activations and gradients
OVERHEAD = 1.5  # saved activations, their gradients and the transforms' copies (measured: peak RSS of
# grids on efficientnet-lite0 at 224-1024 px came to 1.2-1.4 times the counted activations)
PROBE_SIDE = 64
_PER_PIXEL: "weakref.WeakKeyDictionary[torch.nn.Module, dict[str, float]]" = weakref.WeakKeyDictionary()


def _elements_per_pixel(model: VisionModel) -> dict[str, float]:
    """For each layer: elements output by all modules up to it, per input pixel (cached)."""
    cached = _PER_PIXEL.get(model.net)
    if cached is not None:
        return cached
    running = [0]
    at_layer: dict[str, float] = {}
    layer_of = {id(layer.module): name for name, layer in model.layers.items()}

    def hook(module: torch.nn.Module, _inputs: object, output: object) -> None:
        if isinstance(output, torch.Tensor):
            running[0] += output[0].numel()
        name = layer_of.get(id(module))
        if name is not None and name not in at_layer:
            at_layer[name] = running[0]

    side = max(PROBE_SIDE, model.min_size)
    handles = [m.register_forward_hook(hook) for m in model.net.modules()]
    try:
        with torch.no_grad():
            model.net(model.preprocess(torch.full((1, 3, side, side), 0.5, device=model.device)))
    finally:
        for h in handles:
            h.remove()
    per_pixel = {name: count / (side * side) for name, count in at_layer.items()}
    _PER_PIXEL[model.net] = per_pixel
    return per_pixel


def render_bytes(model: VisionModel, layers: Sequence[str], hw: tuple[int, int], batch: int) -> int:
    """Estimated peak bytes of rendering ``batch`` images of ``hw`` (height, width) up to ``layers``."""
    per_pixel = _elements_per_pixel(model)
    names = [model.layer(name).name for name in layers if name != INPUT]
    deepest = max((per_pixel.get(n, max(per_pixel.values(), default=0.0)) for n in names), default=0.0)
    pixels = hw[0] * hw[1]
    image = 3 * pixels * BYTES * 8  # parameter, optimizer state, transformed copies
    return int(batch * (pixels * deepest * BYTES * OVERHEAD + image))


def available_bytes(device: torch.device) -> int:
    """Free memory on ``device``: the GPU's free memory, or the machine's available RAM."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def _gib(n: float) -> str:
    return f"{n / 2 ** 30:.1f} GB"


def check_render_memory(model: VisionModel, layers: Sequence[str], hw: tuple[int, int], batch: int) -> None:
    """Refuses, before any allocation, a render that cannot fit; the message says what would."""
    need = render_bytes(model, layers, hw, batch)
    free = available_bytes(model.device)
    if need <= 0.8 * free:
        return
    one = render_bytes(model, layers, hw, 1)
    fits_batch = int(0.8 * free // one) if one else 0
    scale = math.sqrt(0.8 * free / need)
    side = max(model.min_size, int(min(hw) * scale) // 8 * 8)
    where = "GPU" if model.device.type == "cuda" else "RAM"
    options = [f"{{size}} {side}" + (f" (at {{batch}} {batch})" if batch > 1 else "")]
    if fits_batch >= 1 and batch > 1:
        options.append(f"{{batch}} {fits_batch}")
    raise OutOfRangeError(
        f"rendering {batch} image{'s' if batch != 1 else ''} of {hw[1]}x{hw[0]} px needs about {_gib(need)}, "
        f"but {_gib(free)} of {where} is free: use {' or '.join(options)}", options=["size", "batch"])
