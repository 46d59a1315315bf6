"""The options of ``spectrum``. Plain values: the command line lists them (``--help``) without
loading torch."""
from __future__ import annotations

from dataclasses import dataclass

from convscope.runtime.spec import Spec, option


@dataclass(frozen=True)
class SpectrumSpec(Spec):
    """The options of ``spectrum``."""

    resolution: int = option(256, "the side in px the crops are resized to", minimum=8)
    crops: int = option(32, "random crops per photo", minimum=1)
    seed: int = option(0, "random seed of the crops")
