"""The label of each unit: the candidate group (or "a OR b" of two of the best) whose classes
best separate the photos by the unit's mean activation (AUC), its p-value from the same search
on shuffled photos (so it is corrected for every label tried), and "no label" where the best
does not hold (p above ``MAX_P`` or AUC under ``MIN_AUC``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from convscope.methods.labels.hierarchy import Group
from convscope.methods.labels.scoring import aucs, average_ranks, class_rank_sums, shuffles, unions

MAX_P = 0.01  # a label holds when its corrected p-value is at most this ...
MIN_AUC = 0.75  # ... and its AUC at least this
PAIR_GAIN = 0.01  # "a OR b" is chosen over the best single group only when its AUC is this much higher
PAIRED = 8  # the best single groups whose pairs are tried


@dataclass(frozen=True)
class Candidates:
    """The groups a search tries: their memberships over the folder's classes (G, C), the photos
    of each class, and each photo's class."""

    groups: list[Group]
    members: torch.Tensor
    counts: torch.Tensor
    photo_classes: torch.Tensor
    min_photos: int

    @property
    def pairs_tried(self) -> int:
        """The "a OR b" labels tried per search."""
        return min(PAIRED, len(self.groups)) * (min(PAIRED, len(self.groups)) - 1) // 2


def candidates(groups: list[Group], photo_classes: list[int], classes: int, min_photos: int) -> Candidates:
    """The groups with at least ``min_photos`` photos in them and outside them.

    Args:
        groups: every candidate group of the folder's classes.
        photo_classes: each photo's class (a position in the folder's classes).
        classes: the number of classes.
        min_photos: the fewest photos a group, and the rest, may have.
    Returns:
        The candidates (possibly none).
    """
    index = torch.tensor(photo_classes, dtype=torch.long)
    counts = torch.bincount(index, minlength=classes).double()
    members = torch.zeros(len(groups), classes, dtype=torch.float64)
    for g, group in enumerate(groups):
        members[g, list(group.classes)] = 1.0
    inside = members @ counts
    keep = (inside >= min_photos) & (counts.sum() - inside >= min_photos)
    kept = [group for group, k in zip(groups, keep.tolist()) if k]
    return Candidates(kept, members[keep], counts, index, min_photos)


@dataclass(frozen=True)
class Search:
    """One ranking's search: the chosen label (its groups: one, or two for "a OR b") and its AUC."""

    groups: tuple[int, ...]
    auc: float


def _choose(single: torch.Tensor, pair: torch.Tensor) -> torch.Tensor:
    """The AUC of the label the rule chooses, from the best single's and the best pair's AUC
    (any matching shapes): the pair only when it beats the single by ``PAIR_GAIN``."""
    return torch.where(pair >= single + PAIR_GAIN, pair, single)


def _pairs(top: torch.Tensor) -> torch.Tensor:
    """(..., K, 2): every pair of the last dimension's group indices."""
    first, second = torch.triu_indices(top.shape[-1], top.shape[-1], offset=1)
    return torch.stack([top[..., first], top[..., second]], dim=-1)


def _pair_aucs(found: Candidates, pairs: torch.Tensor, sums: torch.Tensor) -> torch.Tensor:
    """The AUC of each "a OR b" of ``pairs`` ((K, 2), or (P, K, 2) for each ranking's own) for the
    class rank sums ``sums``; 0 for a union that leaves fewer than ``min_photos`` photos outside
    it (it is not tried)."""
    union = unions(found.members, pairs)
    outside = found.counts.sum() - union @ found.counts
    paired = aucs(union, found.counts, sums)
    return torch.where(outside >= found.min_photos, paired, torch.zeros_like(paired))


def search(found: Candidates, ranks: torch.Tensor) -> Search:
    """The label the rule chooses for one ranking of the photos."""
    sums = class_rank_sums(ranks, found.photo_classes, len(found.counts))
    single = aucs(found.members, found.counts, sums)
    best = int(torch.argmax(single))  # the groups run by size, so a tie goes to the smaller
    if found.pairs_tried:
        pairs = _pairs(torch.topk(single, min(PAIRED, len(single))).indices)
        paired = _pair_aucs(found, pairs, sums)
        k = int(torch.argmax(paired))
        if float(paired[k]) >= float(single[best]) + PAIR_GAIN:
            return Search(tuple(int(g) for g in pairs[k]), float(paired[k]))
    return Search((best,), float(single[best]))


def null_beats(found: Candidates, ranks: torch.Tensor, observed: float, order: torch.Tensor) -> int:
    """How many of the shuffles ``order`` ((N, P) photo indices) give a chosen label's AUC at
    least ``observed``: the same search on shuffled photos."""
    sums = class_rank_sums(ranks[order], found.photo_classes, len(found.counts))  # (C, P)
    single = aucs(found.members, found.counts, sums)  # (G, P)
    best = single.max(dim=0).values
    if found.pairs_tried:
        top = torch.topk(single.T, min(PAIRED, single.shape[0]), dim=1).indices  # (P, K)
        paired = _pair_aucs(found, _pairs(top), sums)  # (P, pairs)
        best = _choose(best, paired.max(dim=1).values)
    return int((best >= observed - 1e-12).sum())


@dataclass(frozen=True)
class UnitSearch:
    """A unit's chosen label (its groups and AUC) and its p-value."""

    unit: int
    groups: tuple[int, ...]
    auc: float
    p_value: float


def label_units(activations: torch.Tensor, units: list[int], found: Candidates, permutations: int, seed: int,
                progress: Callable[[int, int], None] | None = None) -> list[UnitSearch]:
    """Each unit's chosen label and its corrected p-value.

    Args:
        activations: (N, U) each photo's mean activation of each unit.
        units: the units' numbers, by column.
        found: the candidates (at least one).
        permutations: the shuffles of the null (the p-value is at least 1 / (permutations + 1)).
        seed: the shuffles' seed.
        progress: called with (shuffles done, shuffles in all).
    Returns:
        One search per unit, in the order of ``units``.
    """
    ranks = [average_ranks(activations[:, u].double()) for u in range(len(units))]
    chosen = [search(found, r) for r in ranks]
    beats = [0] * len(units)
    done = 0
    for order in shuffles(activations.shape[0], permutations, seed):
        for u, r in enumerate(ranks):
            beats[u] += null_beats(found, r, chosen[u].auc, order)
        done += order.shape[1]
        if progress is not None:
            progress(done, permutations)
    return [UnitSearch(unit, c.groups, c.auc, (1 + b) / (1 + permutations))
            for unit, c, b in zip(units, chosen, beats)]
