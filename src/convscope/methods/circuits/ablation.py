"""How much of a target its strongest inputs explain: the inputs are set to their baseline one
after another, in the order of their attribution and in random orders, and the target's mean
on its top photos is measured after each step.

The share of the target lost after k steps is (T - T_k) / (T - T_u): T the target's mean on its
top photos, T_k after the first k inputs of the order are set to their baseline, T_u the
target's usual value (its mean over every photo of the folder). A share of 1 brings the top
photos down to the usual level: the inputs ablated explain all that makes those photos excite
the target. A curve's area is its mean share over k = 1..top."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from convscope.methods.circuits.attribution import Attribution
from convscope.methods.circuits.replaced import Link
from convscope.runtime.progress import Progress

ROWS_PER_PASS = 64  # photos (each with some inputs at their baseline) per forward pass
SMALL_CIRCUIT_SHARE = 0.5  # below it, the top inputs do not explain the target: it is not a small circuit


@dataclass
class Ablation:
    """The target's share lost after each step, in the attribution's order and in random ones."""

    order: list[int]  # the inputs ablated, in the attribution's order
    shares: list[float]  # after k = 1..top inputs of ``order``
    random_shares: list[list[float]]  # per random order, after k = 1..top
    target: float  # T: the target's mean on its top photos
    usual: float  # T_u: its mean over the folder

    @property
    def area(self) -> float:
        """The attribution order's mean share over k = 1..top."""
        return sum(self.shares) / len(self.shares)

    @property
    def random_mean(self) -> list[float]:
        """The random orders' mean share after each k."""
        count = len(self.random_shares)
        return [sum(s[k] for s in self.random_shares) / count for k in range(len(self.shares))]

    @property
    def random_area(self) -> float:
        """The random orders' mean area."""
        return sum(sum(s) / len(s) for s in self.random_shares) / len(self.random_shares)

    @property
    def top_share(self) -> float:
        """The share lost when all the top inputs are ablated."""
        return self.shares[-1]

    @property
    def small_circuit(self) -> bool:
        """Whether the top inputs explain at least half of the target."""
        return self.top_share >= SMALL_CIRCUIT_SHARE


def shares_lost(link: Link, images: torch.Tensor, attribution: Attribution, sets: Sequence[Sequence[int]],
                usual: float) -> list[float]:
    """The share of the target taken away when all the inputs of a set are at their baseline, for
    each set; the sets are stacked into one forward pass over the photos.

    Args:
        link: the target and the layer of its inputs.
        images: the target's top photos, (P, 3, S, S) in [0, 1].
        attribution: the attribution on the same photos (its inputs, baseline and target).
        sets: the sets of inputs.
        usual: the target's mean over the folder.
    Returns:
        One share per set.
    """
    count = len(images)
    per_pass = max(1, ROWS_PER_PASS // count)
    values = []
    for first in range(0, len(sets), per_pass):
        chunk = sets[first:first + per_pass]
        maps = torch.cat([attribution.ablated(chosen) for chosen in chunk]).to(images.device)
        with torch.no_grad():
            found = link.target_with(maps, images.repeat(len(chunk), 1, 1, 1))
        values += found.view(len(chunk), count).mean(dim=1).tolist()
    target = float(attribution.target.mean())
    rise = target - usual
    return [(target - float(v)) / rise if abs(rise) > 1e-12 else 0.0 for v in values]


def random_orders(channels: int, count: int, length: int, seed: int) -> list[list[int]]:
    """``count`` random orders of ``length`` of the ``channels`` inputs, drawn with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return [torch.randperm(channels, generator=generator)[:length].tolist() for _ in range(count)]


def ablate(link: Link, images: torch.Tensor, attribution: Attribution, order: Sequence[int], usual: float, *,
           random_count: int = 10, seed: int = 0, progress: Progress | None = None) -> Ablation:
    """The ablation curves of the inputs in ``order`` and in ``random_count`` random orders.

    Args:
        link: the target and the layer of its inputs.
        images: the target's top photos, (P, 3, S, S) in [0, 1].
        attribution: the attribution on the same photos (its inputs, baseline and target).
        order: the inputs to ablate, strongest first (its length is the curve's).
        usual: the target's mean over the folder.
        random_count: the random orders.
        seed: the random orders' seed.
        progress: called with (orders done, orders in all).
    Returns:
        The curves.
    """
    orders = [list(order), *random_orders(len(attribution.values), random_count, len(order), seed)]
    curves = []
    for done, chosen in enumerate(orders, start=1):
        curves.append(shares_lost(link, images, attribution, [chosen[:k] for k in range(1, len(chosen) + 1)], usual))
        if progress is not None:
            progress(done, len(orders))
    return Ablation(list(order), curves[0], curves[1:], float(attribution.target.mean()), usual)
