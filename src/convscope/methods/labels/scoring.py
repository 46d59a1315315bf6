"""How well a label separates photos by a unit's activation: the area under the ROC curve of
"the photo's class is in the label's group" as a predictor of the unit's mean activation over
each photo, and the permutation null of the best label of a search (the maximum over every
label tried, each shuffle), which corrects for the number of labels tried.

Everything is computed from the sum of the photos' ranks in each class, so a group's AUC costs
one product over classes, whatever the number of photos, and a union's ("a OR b") comes from
its two groups' sums less those of their overlap (``Overlaps``), with no union built."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch


def average_ranks(values: torch.Tensor) -> torch.Tensor:
    """(N,) float64: the ranks 1..N of ``values``, ties sharing their mean rank."""
    order = torch.argsort(values, stable=True)
    ranks = torch.empty(len(values), dtype=torch.float64)
    ranks[order] = torch.arange(1, len(values) + 1, dtype=torch.float64)
    _unique, inverse, counts = torch.unique(values, return_inverse=True, return_counts=True)
    if len(counts) < len(values):  # ties: each takes the mean of the ranks its value holds
        sums = torch.zeros(len(counts), dtype=torch.float64).index_add_(0, inverse, ranks)
        ranks = (sums / counts)[inverse]
    return ranks


def class_rank_sums(ranks: torch.Tensor, photo_classes: torch.Tensor, classes: int) -> torch.Tensor:
    """(C,) or (C, P): the sum of the ranks of each class's photos, for one ranking (N,) or
    for each column of (N, P)."""
    shape = (classes, *ranks.shape[1:])
    return torch.zeros(shape, dtype=torch.float64).index_add_(0, photo_classes, ranks)


def auc(sums: torch.Tensor, positives: torch.Tensor, photos: torch.Tensor) -> torch.Tensor:
    """The probability that a photo of a group outranks one outside it, ties counting a half
    (the Mann-Whitney U over the product of the two counts), for groups of ``positives`` photos
    whose ranks sum to ``sums``, of ``photos`` in all (any shapes that broadcast)."""
    return (sums - positives * (positives + 1) / 2) / (positives * (photos - positives))


DISJOINT, A_IN_B, B_IN_A, OTHER = 0, 1, 2, 3  # how two groups a and b overlap (see ``Overlaps``)


@dataclass(frozen=True)
class Overlaps:
    """How groups overlap, so that a union's rank sum is a's plus b's less that of a AND b, read
    from the groups' own sums where one holds the other or none is shared, and summed over the
    classes of a AND b for the few others.

    ``kind``: (G, G) DISJOINT, A_IN_B, B_IN_A or OTHER; ``other``: (G, G) the row in ``shared``
    of each OTHER pair; ``shared``: (O, C) float64, the classes of both, for the OTHER pairs."""

    kind: torch.Tensor
    other: torch.Tensor
    shared: torch.Tensor

    @staticmethod
    def of(members: torch.Tensor) -> "Overlaps":
        """The overlaps of the groups ``members`` (G, C)."""
        common, size = members @ members.T, members.sum(dim=1)
        kind = torch.full(common.shape, OTHER, dtype=torch.long)
        kind[common == size[None, :]] = B_IN_A  # b's classes are all a's
        kind[common == size[:, None]] = A_IN_B
        kind[common == 0] = DISJOINT
        pairs = (kind == OTHER).nonzero()
        other = torch.full(common.shape, -1, dtype=torch.long)
        other[pairs[:, 0], pairs[:, 1]] = torch.arange(len(pairs))
        return Overlaps(kind, other, members[pairs[:, 0]] * members[pairs[:, 1]])

    def both(self, a: torch.Tensor, b: torch.Tensor, own_a: torch.Tensor, own_b: torch.Tensor,
             per_class: torch.Tensor) -> torch.Tensor:
        """(R, K): a sum over the photos of a AND b, for the groups ``a`` and ``b`` ((R, K)
        indices; row r of ranking r) whose own sums are ``own_a`` and ``own_b`` (R, K), from
        ``per_class`` (R, C): what each class adds to it in ranking r (its rank sum, or photos)."""
        kind = self.kind[a, b]
        found = torch.where(kind == A_IN_B, own_a, torch.where(kind == B_IN_A, own_b, torch.zeros_like(own_a)))
        rows, columns = (kind == OTHER).nonzero(as_tuple=True)
        if len(rows):
            shared = self.shared[self.other[a[rows, columns], b[rows, columns]]]
            found[rows, columns] = (shared * per_class[rows]).sum(dim=1)
        return found


def shuffles(photos: int, permutations: int, seed: int, chunk: int = 100) -> Iterator[torch.Tensor]:
    """The same ``permutations`` shuffles of ``photos`` photos for every unit and every run
    (seeded), as (N, chunk) index columns, ``chunk`` at a time."""
    generator = torch.Generator().manual_seed(seed)
    for start in range(0, permutations, chunk):
        count = min(chunk, permutations - start)
        yield torch.stack([torch.randperm(photos, generator=generator) for _ in range(count)], dim=1)
