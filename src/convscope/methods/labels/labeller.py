"""The label of each unit: the candidate group (or "a OR b" of two of the best) whose classes
best separate the photos by the unit's mean activation (AUC), its p-value from the same search
on shuffled photos (so it is corrected for every label tried), and "no label" where the best
does not hold (p above ``MAX_P`` or AUC under ``MIN_AUC``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from convscope.methods.labels.hierarchy import Group
from convscope.methods.labels.scoring import Overlaps, auc, average_ranks, class_rank_sums, shuffles

MAX_P = 0.01  # a label holds when its corrected p-value is at most this ...
MIN_AUC = 0.75  # ... and its AUC at least this
PAIR_GAIN = 0.01  # "a OR b" is chosen over the best single group only when its AUC is this much higher
PAIRED = 8  # the best single groups whose pairs are tried
NULL_ELEMENTS = 2**24  # the numbers in the largest tables of a call of the null search (128 MiB of float64)


@dataclass(frozen=True)
class Candidates:
    """The groups a search tries: their memberships over the folder's classes (G, C), the photos
    of each class, and each photo's class."""

    groups: list[Group]
    members: torch.Tensor
    counts: torch.Tensor
    photo_classes: torch.Tensor
    min_photos: int
    photos: torch.Tensor  # (G,) float64: the photos in each group
    overlaps: Overlaps

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
    return Candidates(kept, members[keep], counts, index, min_photos, inside[keep], Overlaps.of(members[keep]))


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
    """(K(K-1)/2, 2): every pair of the group indices ``top`` (K,), in ``_pair_aucs``'s order."""
    first, second = torch.triu_indices(top.shape[-1], top.shape[-1], offset=1)
    return torch.stack([top[first], top[second]], dim=-1)


def _pair_aucs(found: Candidates, top: torch.Tensor, sums: torch.Tensor, rank_sums: torch.Tensor) -> torch.Tensor:
    """(P, K(K-1)/2): for each ranking's groups ``top`` (P, K), the AUC of every "a OR b" of two
    of them, in ``_pairs``'s order, from the groups' rank sums ``sums`` (G, P) and the classes'
    ``rank_sums`` (C, P); 0 for a union that leaves fewer than ``min_photos`` photos outside it
    (it is not tried). A union's sums are a's plus b's less those of a AND b."""
    first, second = torch.triu_indices(top.shape[1], top.shape[1], offset=1)
    a, b = top[:, first], top[:, second]
    sums_a, sums_b = sums.T.gather(1, a), sums.T.gather(1, b)
    photos_a, photos_b = found.photos[a], found.photos[b]
    union_sums = sums_a + sums_b - found.overlaps.both(a, b, sums_a, sums_b, rank_sums.T)
    inside = photos_a + photos_b - found.overlaps.both(a, b, photos_a, photos_b, found.counts.expand(len(a), -1))
    total = found.counts.sum()
    paired = auc(union_sums, inside, total)
    return torch.where(total - inside >= found.min_photos, paired, torch.zeros_like(paired))


def search(found: Candidates, ranks: torch.Tensor) -> Search:
    """The label the rule chooses for one ranking of the photos."""
    rank_sums = class_rank_sums(ranks, found.photo_classes, len(found.counts))[:, None]  # (C, 1)
    sums = found.members @ rank_sums  # (G, 1)
    single = auc(sums, found.photos[:, None], found.counts.sum())[:, 0]
    best = int(torch.argmax(single))  # the groups run by size, so a tie goes to the smaller
    if found.pairs_tried:
        top = torch.topk(single, min(PAIRED, len(single))).indices
        paired = _pair_aucs(found, top[None], sums, rank_sums)[0]
        k = int(torch.argmax(paired))
        if float(paired[k]) >= float(single[best]) + PAIR_GAIN:
            return Search(tuple(int(g) for g in _pairs(top)[k]), float(paired[k]))
    return Search((best,), float(single[best]))


def null_beats(found: Candidates, ranks: torch.Tensor, observed: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """(U,): for each of U rankings ``ranks`` (N, U), how many of the shuffles ``order`` ((N, P)
    photo indices) give a chosen label's AUC at least its ``observed`` (U,) one: the same search
    on shuffled photos."""
    photos, shuffled = order.shape
    rank_sums = class_rank_sums(ranks[order].reshape(photos, -1), found.photo_classes, len(found.counts))  # (C, P*U)
    sums = found.members @ rank_sums  # (G, P*U)
    single = auc(sums, found.photos[:, None], found.counts.sum())
    best = single.max(dim=0).values
    if found.pairs_tried:
        top = torch.topk(single.T, min(PAIRED, single.shape[0]), dim=1).indices  # (P*U, K)
        best = _choose(best, _pair_aucs(found, top, sums, rank_sums).max(dim=1).values)
    return (best.reshape(shuffled, -1) >= observed - 1e-12).sum(dim=0)


def units_per_call(found: Candidates, photos: int, shuffled: int) -> int:
    """How many units ``null_beats`` takes at once: its largest tables, (photos, classes or
    groups) x shuffles x units, stay near NULL_ELEMENTS numbers."""
    return max(1, NULL_ELEMENTS // (shuffled * max(photos, len(found.counts), len(found.groups))))


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
    ranks = torch.stack([average_ranks(activations[:, u].double()) for u in range(len(units))], dim=1)  # (N, U)
    chosen = [search(found, ranks[:, u]) for u in range(len(units))]
    observed = torch.tensor([c.auc for c in chosen], dtype=torch.float64)
    beats = torch.zeros(len(units), dtype=torch.long)
    done = 0
    for order in shuffles(activations.shape[0], permutations, seed):
        step = units_per_call(found, order.shape[0], order.shape[1])
        for start in range(0, len(units), step):
            beats[start:start + step] += null_beats(found, ranks[:, start:start + step], observed[start:start + step],
                                                     order)
        done += order.shape[1]
        if progress is not None:
            progress(done, permutations)
    return [UnitSearch(unit, c.groups, c.auc, (1 + int(b)) / (1 + permutations))
            for unit, c, b in zip(units, chosen, beats)]
