"""How well a label separates photos by a unit's activation: the area under the ROC curve of
"the photo's class is in the label's group" as a predictor of the unit's mean activation over
each photo, and the permutation null of the best label of a search (the maximum over every
label tried, each shuffle), which corrects for the number of labels tried.

Everything is computed from the sum of the photos' ranks in each class, so a group's AUC costs
one product over classes, whatever the number of photos."""
from __future__ import annotations

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


def aucs(members: torch.Tensor, counts: torch.Tensor, rank_sums: torch.Tensor) -> torch.Tensor:
    """The AUC of each group, for each ranking.

    Args:
        members: (G, C) float64, 1 where class c is in group g (or (P, G, C): each ranking's own groups).
        counts: (C,) float64, the photos of each class.
        rank_sums: (C,) or (C, P) float64, the ranks' sum of each class's photos per ranking.
    Returns:
        (G,), (G, P), or for each ranking's own groups (P, G): the probability that a photo of
        the group outranks one outside it, ties counting a half (the Mann-Whitney U over the
        product of the two counts).
    """
    photos = counts.sum()
    positives = members @ counts
    if members.dim() == 3:
        sums = torch.einsum("pgc,cp->pg", members, rank_sums)
    else:
        sums = members @ rank_sums
        if rank_sums.dim() == 2:
            positives = positives[:, None]
    return (sums - positives * (positives + 1) / 2) / (positives * (photos - positives))


def unions(members: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """The groups "a OR b" of ``pairs`` ((K, 2) or (P, K, 2) group indices) of ``members`` (G, C)."""
    return torch.maximum(members[pairs[..., 0]], members[pairs[..., 1]])


def shuffles(photos: int, permutations: int, seed: int, chunk: int = 100) -> Iterator[torch.Tensor]:
    """The same ``permutations`` shuffles of ``photos`` photos for every unit and every run
    (seeded), as (N, chunk) index columns, ``chunk`` at a time."""
    generator = torch.Generator().manual_seed(seed)
    for start in range(0, permutations, chunk):
        count = min(chunk, permutations - start)
        yield torch.stack([torch.randperm(photos, generator=generator) for _ in range(count)], dim=1)
