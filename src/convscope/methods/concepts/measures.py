"""How good a dictionary is, on vectors it was not trained on.

- explained variance: 1 - sum_d Var(x_d - x_hat_d) / sum_d Var(x_d), each variance about its
  own dimension's mean (a global mean over all dimensions, as some toolboxes use, reads higher);
- sparsity: the mean number of active (non-zero) codes per vector (L0);
- dead concepts: never active on the vectors measured;
- frequency and energy of each concept: the share of vectors where it is active, and its share
  of the summed squared codes;
- dictionary similarity: the largest |cosine| between two atoms;
- stability: the mean |cosine| of the atoms of two dictionaries matched one to one with the
  Hungarian algorithm.

The units baseline is the layer's own units used as the dictionary: each vector keeps its ``k``
largest units (by magnitude), the rest set to zero.
"""
from __future__ import annotations

import numpy as np
import torch

from convscope.methods.concepts.dictionary import ConceptDictionary


class ReconstructionMeter:
    """Sums over vectors, in float64, for the measures above; ``add`` takes a batch."""

    def __init__(self, channels: int, codes: int) -> None:
        self.count = 0
        self.sums = torch.zeros(4, channels, dtype=torch.float64)  # x, x^2, residual, residual^2
        self.active = torch.zeros(codes, dtype=torch.float64)
        self.squared_codes = torch.zeros(codes, dtype=torch.float64)

    def add(self, x: torch.Tensor, codes: torch.Tensor, reconstruction: torch.Tensor) -> None:
        """Vectors (N, C), their codes (N, K) and reconstructions (N, C)."""
        x, r = x.double().cpu(), (x - reconstruction).double().cpu()
        self.sums += torch.stack([x.sum(0), (x ** 2).sum(0), r.sum(0), (r ** 2).sum(0)])
        active = codes.cpu() > 0
        self.active += active.double().sum(0)
        self.squared_codes += (codes.double().cpu() ** 2).sum(0)
        self.count += len(x)

    def summary(self) -> dict:
        """explained_variance, l0, dead (count and indices), frequency and energy per code; the
        first three are None when no vector was added."""
        n = max(self.count, 1)
        variance_x = self.sums[1] / n - (self.sums[0] / n) ** 2
        variance_r = self.sums[3] / n - (self.sums[2] / n) ** 2
        dead = torch.nonzero(self.active == 0).flatten().tolist() if self.count else []
        measured = self.count > 0
        return {"vectors": self.count,
                "explained_variance": float(1 - variance_r.sum() / variance_x.sum().clamp_min(1e-30)) if measured else None,
                "l0": float(self.active.sum() / n) if measured else None, "dead": len(dead) if measured else None,
                "dead_concepts": dead,
                "frequency": (self.active / n).tolist(),
                "energy": (self.squared_codes / self.squared_codes.sum().clamp_min(1e-30)).tolist()}


def top_units(x: torch.Tensor, k: int) -> torch.Tensor:
    """(N, C): each vector with only its ``k`` largest units (by magnitude) kept: the units
    baseline's codes, which are also its reconstruction."""
    indices = x.abs().topk(min(k, x.shape[1]), dim=1).indices
    return torch.zeros_like(x).scatter_(1, indices, x.gather(1, indices))


def dictionary_similarity(atoms: torch.Tensor) -> float:
    """The largest |cosine| between two different atoms."""
    unit = atoms / atoms.norm(dim=1, keepdim=True).clamp_min(1e-12)
    cosines = (unit @ unit.T).abs()
    cosines.fill_diagonal_(0)
    return float(cosines.max()) if len(atoms) > 1 else 0.0


def matched_cosines(first: torch.Tensor, second: torch.Tensor) -> np.ndarray:
    """The |cosine| of each row of ``first`` with the row of ``second`` the Hungarian algorithm
    matches it to (one to one, maximizing the total)."""
    a = first / first.norm(dim=1, keepdim=True).clamp_min(1e-12)
    b = second / second.norm(dim=1, keepdim=True).clamp_min(1e-12)
    cosines = (a @ b.T).abs().double().numpy()
    from scipy.optimize import linear_sum_assignment  # scipy loads here, not with every command

    rows, columns = linear_sum_assignment(-cosines)
    return cosines[rows, columns]


def stability(first: ConceptDictionary, second: ConceptDictionary) -> float:
    """The mean matched |cosine| of two dictionaries' atoms."""
    return float(matched_cosines(first.atoms, second.atoms).mean())
