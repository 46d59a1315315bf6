"""Whether render steps are compiled: the modes, the rule of ``auto``, and whether a compiler is there.

``auto`` compiles on CUDA for runs of AUTO_MIN_STEPS steps or more, never on the CPU, where
BENCHMARKS.md measured inductor's training graphs slower than eager oneDNN.
"""
from __future__ import annotations

import importlib.util
import shutil
from typing import TYPE_CHECKING

import torch

from convscope.errors import OutOfRangeError

if TYPE_CHECKING:
    pass


COMPILE_MODES = ("auto", "on", "off")


AUTO_MIN_STEPS = 128  # on CUDA, shorter runs do not earn back a compile (unmeasured: see README)


class CompileFallback(UserWarning):
    """Compiling a render step failed; the render ran without compiling."""


def check_compile(mode: str) -> str:
    if mode not in COMPILE_MODES:
        raise OutOfRangeError(f"--compile must be one of {', '.join(COMPILE_MODES)}, got {mode!r}")
    return mode


def compiler_found(device: torch.device) -> str | None:
    """Why compiling cannot work here, or None when it can: inductor needs a C++ compiler on
    the CPU and Triton on CUDA."""
    if device.type == "cuda":
        return None if importlib.util.find_spec("triton") is not None else "Triton is not installed"
    return None if any(shutil.which(c) for c in ("g++", "c++", "clang++")) else "no C++ compiler (g++) found"


def wants_compile(mode: str, device: torch.device, steps: int) -> bool:
    """Whether a render of ``steps`` steps on ``device`` compiles, by the rule in the module doc."""
    if mode == "auto":
        return device.type == "cuda" and steps >= AUTO_MIN_STEPS
    return mode == "on"
