"""Compiled render steps: the network's blocks that a render runs (its main layers up to the
deepest one the objective reads) are compiled with ``torch.compile`` (inductor: C++ and
OpenMP on the CPU, Triton on CUDA); their forward and backward then run as fused kernels,
while the probe's hooks stay outside them. Each block class is compiled once per shape and
reused by every later batch and render of the process (torch.compile caches by code and
shape). Where compiling fails, the render goes on eagerly with a ``CompileFallback`` warning.
When a render compiles is decided in ``convscope.runtime.compile_settings``.
"""
from __future__ import annotations

import warnings
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import torch
from torch import nn

from convscope.runtime.compile_settings import CompileFallback, compile_mode, compiler_found, wants_compile

if TYPE_CHECKING:
    from convscope.models.base import VisionModel

RECOMPILE_LIMIT = 64  # block configurations of one class (efficientnet-lite has 16 blocks)


@dataclass
class CompiledNetwork:
    """What compiling a network's renders left: each module's compiled forward (reused by later
    renders, so shapes seen before do not recompile), and whether compiling failed once (then
    it is not tried again)."""

    forwards: dict[int, Callable[..., object]] = field(default_factory=dict)
    failed: bool = False


_STATE: "weakref.WeakKeyDictionary[nn.Module, CompiledNetwork]" = weakref.WeakKeyDictionary()


def compiled_network(model: "VisionModel") -> CompiledNetwork:
    """The compile state of ``model``'s network (made on first use; gone with the network)."""
    return _STATE.setdefault(model.net, CompiledNetwork())


def compile_units(model: "VisionModel", layers: Sequence[str]) -> list[nn.Module]:
    """The modules a render compiles: the main layers' modules up to the deepest of ``layers``,
    the outer one where one holds another (not the parameter-free markers some networks read)."""
    deepest = max(model.layer(name).order for name in layers)
    chosen: list[nn.Module] = []
    for name in model.main_layers:
        info = model.layer(name)
        module = info.module
        if info.order > deepest or isinstance(module, nn.Identity) or not any(True for _ in module.parameters()):
            continue
        if any(module is other or _contains(other, module) for other in chosen):
            continue
        chosen = [other for other in chosen if not _contains(module, other)] + [module]  # the outer one
    return chosen


def _contains(outer: nn.Module, inner: nn.Module) -> bool:
    return any(m is inner for m in outer.modules() if m is not outer)


@contextmanager
def compiled_forwards(model: "VisionModel", layers: Sequence[str]) -> Iterator[None]:
    """Within the block, the modules of ``compile_units`` run compiled forwards (the same
    compiled function for a module every time, so shapes seen before do not recompile)."""
    cache = compiled_network(model).forwards
    if torch._dynamo.config.cache_size_limit < RECOMPILE_LIMIT:
        torch._dynamo.config.cache_size_limit = RECOMPILE_LIMIT
    for module in compile_units(model, layers):
        if id(module) not in cache:
            cache[id(module)] = torch.compile(type(module).forward.__get__(module), dynamic=False)
        module.forward = cache[id(module)]
    try:
        yield
    finally:
        eager_forwards(model, layers)


def eager_forwards(model: "VisionModel", layers: Sequence[str]) -> None:
    """The modules of ``compile_units`` back to their own forwards (again: does nothing)."""
    for module in compile_units(model, layers):
        module.__dict__.pop("forward", None)


def compile_failed(model: "VisionModel", error: BaseException) -> None:
    """Marks the model as one that does not compile, and says so once."""
    compiled_network(model).failed = True
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    warnings.warn(CompileFallback(f"compiling {model.name} failed ({type(error).__name__}: {first[:200]}); "
                                  "rendering without compiling (compiling off hides this note)"), stacklevel=3)


def compile_for(model: "VisionModel", steps: int) -> bool:
    """Whether this render compiles: the mode in force, the device, a compiler, no failure yet."""
    if not wants_compile(compile_mode(), model.device, steps) or compiled_network(model).failed:
        return False
    missing = compiler_found(model.device)
    if missing is not None:
        compile_failed(model, RuntimeError(missing))
        return False
    return True
