"""Optimizers of the loop: the article's normalized gradient ascent as a torch optimizer, and
builders of the built-in ones by name."""
from __future__ import annotations

from functools import partial
from typing import Callable, Iterable

import torch
from torch import nn

OptimizerBuilder = Callable[[list[nn.Parameter]], torch.optim.Optimizer]
"""Makes the optimizer of a batch's parameters; any ``torch.optim`` class with its settings
bound (``functools.partial(torch.optim.Adam, lr=0.05)``) is one."""


class NormalizedAscent(torch.optim.Optimizer):
    """The article's step: each parameter moves by ``lr`` times its gradient divided by the
    gradient's root mean square (+1e-5), per image (the first dimension). The loop minimizes
    minus the objective, so the step goes against the gradient, up the objective."""

    def __init__(self, params: Iterable[nn.Parameter], lr: float = 1.0) -> None:
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]
        """One step of every parameter that has a gradient."""
        for group in self.param_groups:
            for param in group["params"]:
                g = param.grad
                if g is None:
                    continue
                rms = g.pow(2).flatten(1).mean(dim=1).sqrt() + 1e-5
                param.sub_(group["lr"] * g / rms.view(-1, *([1] * (g.dim() - 1))))


OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "normalized-ascent": NormalizedAscent, "adam": torch.optim.Adam, "nadam": torch.optim.NAdam}


def optimizer_builder(name: str, lr: float) -> OptimizerBuilder:
    """The built-in optimizer ``name`` ("normalized-ascent", "adam" or "nadam") at step size ``lr``."""
    return partial(OPTIMIZERS[name], lr=lr)
