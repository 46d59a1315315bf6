"""A circuit's inputs as a dictionary's concepts instead of channels.

The input layer's maps ``x`` are coded at every position by the concepts folder's dictionary:
``x = decode(c(x)) + r(x)``, ``decode(c) = A c + m`` affine (column ``A_k`` is what one unit
of concept k's code adds to the maps). With the baseline ``b`` (the folder's mean vector at
every position) and ``g`` the path-averaged gradient that integrated gradients give at each
position,

    attribution_k = sum over positions of (c_k(x) - c_k(b)) * (A_k . g),

and what the concepts do not code, ``(x - b) - A (c(x) - c(b))``, gets the rest, so the
concepts' attributions and the rest add up to the channels' total (integrated gradients'
completeness holds with the rest counted). Setting concept k to its baseline removes
``A_k (c_k(x) - c_k(b))`` from the maps at every position."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from convscope.methods.circuits.attribution import Attribution
from convscope.methods.concepts.dictionary import ConceptDictionary
from convscope.methods.concepts.effects import position_codes
from convscope.methods.concepts.folder import ConceptFolder


@dataclass
class ConceptAttribution(Attribution):
    """An attribution to concepts: ``inputs`` are the photos' codes (P, K, H, W), ``baseline``
    the baseline's codes (K,), ``contributions`` each concept's attribution at each position;
    ``maps`` the channel maps the ablation changes, ``deltas`` (P, K, H, W) each code's change
    from the baseline, ``columns`` (K, C) what one unit of each code adds to the maps, and
    ``rest_per_photo`` (P,) the attribution of what the concepts do not code."""

    maps: torch.Tensor | None = None
    deltas: torch.Tensor | None = None
    columns: torch.Tensor | None = None
    rest_per_photo: torch.Tensor | None = None

    @property
    def rest(self) -> float:
        return float(self.rest_per_photo.mean()) if self.rest_per_photo is not None else 0.0

    def ablated(self, chosen: Sequence[int]) -> torch.Tensor:
        """The photos' channel maps with the concepts ``chosen`` at their baseline codes."""
        assert self.maps is not None and self.deltas is not None and self.columns is not None
        index = torch.as_tensor(list(chosen), dtype=torch.long)
        removed = torch.einsum("pkhw,kc->pchw", self.deltas[:, index], self.columns[index])
        return self.maps - removed


def code_columns(dictionary: ConceptDictionary) -> torch.Tensor:
    """(K, C): what one unit of each concept's code adds to the decoded maps (on the dictionary's device)."""
    count, device = dictionary.concepts, dictionary.atoms.device
    return dictionary.decode(torch.eye(count, device=device)) - dictionary.decode(torch.zeros(1, count, device=device))


def code_changes(dictionary: ConceptDictionary, maps: torch.Tensor,
                 baseline: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The codes of (P, C, H, W) ``maps`` at every position (P, K, H, W), those of the (C,)
    ``baseline`` (K,), and each code's change from the baseline's (P, K, H, W)."""
    codes = position_codes(dictionary, maps)
    base_codes = dictionary.encode(baseline[None].float().to(maps.device))[0]
    return codes, base_codes, codes - base_codes.view(1, -1, 1, 1)


def to_concepts(attribution: Attribution, folder: ConceptFolder) -> ConceptAttribution:
    """The channel attribution ``attribution`` (of maps (P, C, H, W)) re-expressed over the
    concepts of ``folder`` (learned on the same layer)."""
    maps = attribution.inputs
    dictionary = folder.dictionary.to(maps.device)
    codes, base_codes, deltas = code_changes(dictionary, maps, attribution.baseline)
    columns = code_columns(dictionary)
    along = torch.einsum("kc,pchw->pkhw", columns, attribution.gradients)  # A_k . g at each position
    contributions = deltas * along
    rest = attribution.per_photo.sum(dim=1) - contributions.flatten(2).sum(dim=2).sum(dim=1)
    return ConceptAttribution(attribution.method, codes, base_codes, contributions, columns @ attribution.gradient,
                              attribution.target, attribution.at_baseline, along, maps=maps, deltas=deltas,
                              columns=columns, rest_per_photo=rest)
