"""Freed CPU memory kept for reuse while convscope computes, where the C library is glibc.

PyTorch takes a CPU tensor's memory from malloc. glibc serves blocks above its mmap
threshold (32 MiB at most) with fresh pages from the kernel and returns them on free, so
a batch's activations are zero-filled by the kernel again at every step: on a 2-core
machine that was over 40% of a `grid` run's time (system time). Serving every block from
the heap and not trimming it during the work removes that; ``reused_memory`` returns the
free memory to the system when a job ends. Elsewhere (macOS, Windows, musl) it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
from contextlib import contextmanager
from functools import cache
from typing import Iterator

import torch

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_MAX = -4
NEVER_TRIM = 2**31 - 1  # the largest value mallopt takes, bytes


@cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # only glibc has it, and its mallopt parameters
    except (OSError, AttributeError, TypeError):
        return None
    return libc


@cache
def keep_freed_memory() -> bool:
    """From now on, this process serves large blocks from its heap and keeps what is freed
    (once per process; True where it took effect)."""
    libc = _glibc()
    return bool(libc and libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(M_TRIM_THRESHOLD, NEVER_TRIM))


@contextmanager
def reused_memory(device: torch.device) -> Iterator[None]:
    """Work on ``device`` inside: on the CPU, freed blocks are kept for the next step, and the
    heap's free memory goes back to the system at the end (not between steps)."""
    if device.type != "cpu" or not keep_freed_memory():
        yield
        return
    try:
        yield
    finally:
        libc = _glibc()
        if libc is not None:
            libc.malloc_trim(0)
