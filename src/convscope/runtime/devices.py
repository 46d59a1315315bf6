"""Which device a job runs on: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``, checked before any work."""
from __future__ import annotations

import re

import torch

from convscope.errors import OutOfRangeError


def resolve_device(name: str | torch.device) -> str:
    """The device ``name`` stands for here (``auto``: CUDA when there is one); a clear error
    for a name torch does not run on, or a GPU that is not there."""
    text = str(name).strip().lower()
    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if text == "cpu":
        return "cpu"
    match = re.fullmatch(r"cuda(?::(\d+))?", text)
    if match is None:
        hint = {"gpu": " (a CUDA GPU is called cuda)", "nvidia": " (a CUDA GPU is called cuda)",
                "mps": " (Apple GPUs are not supported: use cpu)"}.get(text, "")
        raise OutOfRangeError(f"unknown device {str(name)!r}{hint}: use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise OutOfRangeError(f"{{device}} {text}: no CUDA device is available here; use {{device}} cpu", options=["device"])
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise OutOfRangeError(f"device {text}: this machine has {torch.cuda.device_count()} CUDA devices "
                              f"(cuda:0..cuda:{torch.cuda.device_count() - 1})")
    return text
