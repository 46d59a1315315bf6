"""The values the runtime settings take (a device, a precision, a compile mode), as plain names,
so that a front end can list them without loading torch. ``devices``, ``precision`` and
``compile_settings`` check and carry them out."""
from __future__ import annotations

DEVICE_CHOICES = ("auto", "cpu", "cuda")
"""Devices by name; ``cuda:N`` names one GPU."""

PRECISIONS = ("auto", "float32", "tf32", "bfloat16")
"""The network's arithmetic (see ``convscope.runtime.precision``)."""

COMPILE_MODES = ("auto", "on", "off")
"""Whether render steps are compiled (see ``convscope.runtime.compile_settings``)."""
