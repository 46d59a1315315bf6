"""The arithmetic a network runs in: float32, TF32 (CUDA) or bfloat16 autocast.

``auto`` means TF32 on CUDA (PyTorch's own default for cuDNN convolutions) and
float32 on the CPU. bfloat16 autocast runs the network's convolutions and matmuls
in bfloat16 and keeps the image, its parameterization, the loss and the optimizer
in float32; it is fast on GPUs and on CPUs with AMX, and changes pictures a little
(see BENCHMARKS.md).

Two contexts carry a precision out: ``autocast`` around the network's forward pass
only, and ``math_mode`` around a whole step (forward and backward), since cuDNN's
and cuBLAS's float32 mode is read when each kernel runs.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from convscope.errors import OutOfRangeError
from convscope.runtime.setting_names import PRECISIONS


def check(name: str) -> str:
    """``name`` if it is a precision, else a clear error listing the choices."""
    if name not in PRECISIONS:
        raise OutOfRangeError(f"unknown precision {name!r}; choose one of {', '.join(PRECISIONS)}")
    return name


def resolve(name: str, device: torch.device) -> str:
    """The precision ``name`` stands for on ``device`` (``auto`` resolved); errors say what to use."""
    check(name)
    if name == "auto":
        return "tf32" if device.type == "cuda" else "float32"
    if name == "tf32" and device.type != "cuda":
        raise OutOfRangeError("precision tf32 is a CUDA format; on the CPU use float32 or bfloat16")
    return name


def autocast(name: str, device: torch.device) -> contextlib.AbstractContextManager:
    """bfloat16 autocast for precision ``bfloat16``, else nothing; wraps a forward pass."""
    if resolve(name, device) == "bfloat16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def math_mode(name: str, device: torch.device) -> Iterator[None]:
    """On CUDA, cuDNN's and cuBLAS's float32 arithmetic for precision ``name`` (TF32 for
    ``tf32``, IEEE float32 otherwise), restored on exit; nothing on other devices."""
    chosen = resolve(name, device)
    if device.type != "cuda":
        yield
        return
    tf32 = chosen == "tf32"
    saved = _cuda_tf32()
    _set_cuda_tf32((tf32, tf32))
    try:
        yield
    finally:
        _set_cuda_tf32(saved)


def _cuda_tf32() -> tuple[bool, bool]:
    """Whether cuDNN convolutions and cuBLAS matmuls may use TF32 now."""
    return torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32


def _set_cuda_tf32(allowed: tuple[bool, bool]) -> None:
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = allowed
