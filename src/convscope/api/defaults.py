"""Defaults of the API's parameters that are not a spec's options, as plain values, so that a
front end can show them without loading the modules that do the work."""
from __future__ import annotations

GPUS_PER_TASK = 0.0
"""GPUs each Ray task asks for (``on_ray``)."""

TRUST_OUT = "trust"
"""Where ``trust`` writes its report."""

CIRCUIT_OUT = "circuit"
"""Where the ``circuit`` command writes its folder."""
