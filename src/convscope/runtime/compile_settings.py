"""Whether render steps are compiled: the modes, the mode in force, the rule of ``auto``, and
whether a compiler is there.

The mode is set for a block of code with ``compiling(mode)`` (the command line sets it for a
whole command); outside any such block it is ``auto``. ``auto`` compiles on CUDA for runs of
AUTO_MIN_STEPS steps or more, never on the CPU, where
BENCHMARKS.md measured inductor's training graphs slower than eager oneDNN.
"""
from __future__ import annotations

import importlib.util
import shutil
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

import torch

from convscope.errors import OutOfRangeError
from convscope.runtime.setting_names import COMPILE_MODES

AUTO_MIN_STEPS = 128  # on CUDA, shorter runs do not earn back a compile (unmeasured: see README)


class CompileFallback(UserWarning):
    """Compiling a render step failed; the render ran without compiling."""


_MODE: ContextVar[str] = ContextVar("convscope_compile_mode", default="auto")


def check_compile(mode: str) -> str:
    """``mode`` if it is one of COMPILE_MODES.

    Raises:
        OutOfRangeError: another value.
    """
    if mode not in COMPILE_MODES:
        raise OutOfRangeError(f"compile must be one of {', '.join(COMPILE_MODES)}, got {mode!r}")
    return mode


@contextmanager
def compiling(mode: str) -> Iterator[None]:
    """Renders inside the block compile their steps as ``mode`` says.

    Args:
        mode: "auto" (on CUDA for long runs), "on" or "off".
    Returns:
        A context manager; the mode before it is back when the block ends.
    Raises:
        OutOfRangeError: an unknown mode.
    """
    token = _MODE.set(check_compile(mode))
    try:
        yield
    finally:
        _MODE.reset(token)


def compile_mode() -> str:
    """The mode in force (``auto`` outside any ``compiling`` block)."""
    return _MODE.get()


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
