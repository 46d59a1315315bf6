"""What the concepts do to the classes, measured by taking them out of the layer.

- Removal effect (for each concept, all classes): the layer's output is replaced by the output
  minus code x atom at every position, and the effect is the mean, over the photos, of the
  logit's fall (original minus changed). The classes a concept drives most are those it falls
  most for.
- Importance for one class (CRAFT, Fel et al. 2023): Sobol total-order indices of the concepts
  for the class's logit, each concept's codes scaled by a mask in [0, 1] drawn by a scrambled
  Sobol sequence, estimated with Jansen's formula, averaged over the photos.
- Deletion check: the concepts are removed one by one, in order of importance and in random
  orders, and the class's logit is read after each; a faithful order makes it fall faster, so
  the area under its curve (x: share removed, 0 to 1) is lower.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from convscope.methods.concepts.dictionary import ConceptDictionary
from convscope.models.base import VisionModel
from convscope.models.suffix import logits_from_layer
from convscope.runtime.record import Record

CHUNK = 256  # replaced maps per forward pass
SOBOL_DESIGNS = 32  # CRAFT's default
RANDOM_ORDERS = 10


def position_codes(dictionary: ConceptDictionary, maps: torch.Tensor) -> torch.Tensor:
    """(B, K, H, W) codes of every position of (B, C, H, W) maps."""
    b, c, h, w = maps.shape
    codes = dictionary.encode(maps.permute(0, 2, 3, 1).reshape(-1, c))
    return codes.reshape(b, h, w, -1).permute(0, 3, 1, 2).to(maps.device)


def _without(maps: torch.Tensor, codes: torch.Tensor, atoms: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Maps (C, H, W) of one photo minus sum_i weights[n, i] * codes_i * atom_i: (N, C, H, W)."""
    removed = torch.einsum("nk,khw,kc->nchw", weights, codes, atoms)
    return maps[None] - removed


def _removed_logits(model: VisionModel, layer: str, maps: torch.Tensor, codes: torch.Tensor, atoms: torch.Tensor,
                    weights: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """(N, classes): the logits of one photo's maps with ``weights[n]`` of each concept removed,
    CHUNK rows at a time."""
    return torch.cat([logits_from_layer(model, layer, _without(maps, codes, atoms, weights[i:i + CHUNK]), image)
                      for i in range(0, len(weights), CHUNK)])


def removal_effects(model: VisionModel, layer: str, dictionary: ConceptDictionary, maps: torch.Tensor,
                    images: torch.Tensor) -> torch.Tensor:
    """(K, classes): the mean fall of each logit when each concept is removed (see the module docstring).

    Args:
        model: the network.
        layer: the dictionary's layer.
        dictionary: the concepts.
        maps: (B, C, H, W) the layer's maps of the photos, as the network uses them.
        images: (B, 3, S, S) the photos.
    """
    atoms = dictionary.atoms.to(maps.device)
    codes = position_codes(dictionary, maps)
    total = torch.zeros(dictionary.concepts, model.layer("logits").channels, dtype=torch.float64)
    eye = torch.eye(dictionary.concepts, device=maps.device)
    for photo in range(len(maps)):
        image = images[photo:photo + 1]
        base = logits_from_layer(model, layer, maps[photo:photo + 1], image)
        changed = _removed_logits(model, layer, maps[photo], codes[photo], atoms, eye, image)
        total += (base - changed).double().cpu()
    return (total / max(len(maps), 1)).float()


def sobol_importance(model: VisionModel, layer: str, dictionary: ConceptDictionary, maps: torch.Tensor,
                     images: torch.Tensor, target: int, designs: int = SOBOL_DESIGNS, seed: int = 0) -> np.ndarray:
    """(K,) total-order Sobol indices of the concepts for class ``target``'s logit, averaged over the photos."""
    k = dictionary.concepts
    from scipy.stats import qmc  # scipy loads here, not with every command

    points = torch.as_tensor(qmc.Sobol(d=2 * k, scramble=True, seed=seed).random(designs), dtype=torch.float32)
    a, b = points[:, :k], points[:, k:]
    mixed = a[None].repeat(k, 1, 1)  # (K, designs, K): A with column i taken from B
    for i in range(k):
        mixed[i, :, i] = b[:, i]
    masks = torch.cat([a, b, mixed.reshape(-1, k)]).to(maps.device)
    atoms = dictionary.atoms.to(maps.device)
    codes = position_codes(dictionary, maps)
    indices = np.zeros(k)
    for photo in range(len(maps)):
        scores = _removed_logits(model, layer, maps[photo], codes[photo], atoms, 1 - masks,
                                 images[photo:photo + 1])[:, target].double().cpu()
        f_a, f_b, f_mixed = scores[:designs], scores[designs:2 * designs], scores[2 * designs:].reshape(k, designs)
        variance = torch.cat([f_a, f_b]).var().clamp_min(1e-12)
        indices += (((f_a[None] - f_mixed) ** 2).mean(dim=1) / (2 * variance)).numpy()
    return indices / max(len(maps), 1)


@dataclass
class DeletionCheck(Record):
    """The class's mean logit after removing 0, 1, ..., K concepts, in order of importance and
    averaged over random orders, and the areas under both curves (lower: a faster fall)."""

    important_first: list[float]
    random_order: list[float]
    auc_important_first: float
    auc_random_order: float


def deletion_check(model: VisionModel, layer: str, dictionary: ConceptDictionary, maps: torch.Tensor,
                   images: torch.Tensor, target: int, order: list[int], seed: int = 0) -> DeletionCheck:
    """Removes the concepts one by one in ``order`` and in ``RANDOM_ORDERS`` random orders drawn with ``seed``."""
    k = dictionary.concepts
    generator = np.random.default_rng(seed)
    orders = [order] + [generator.permutation(k).tolist() for _ in range(RANDOM_ORDERS)]
    steps = torch.zeros(len(orders) * (k + 1), k, device=maps.device)
    for n, sequence in enumerate(orders):
        for t in range(1, k + 1):
            steps[n * (k + 1) + t, sequence[:t]] = 1
    atoms = dictionary.atoms.to(maps.device)
    codes = position_codes(dictionary, maps)
    curves = torch.zeros(len(orders), k + 1, dtype=torch.float64)
    for photo in range(len(maps)):
        scores = _removed_logits(model, layer, maps[photo], codes[photo], atoms, steps, images[photo:photo + 1])
        curves += scores[:, target].double().cpu().reshape(len(orders), k + 1)
    curves /= max(len(maps), 1)
    important, random_mean = curves[0].numpy(), curves[1:].mean(dim=0).numpy()
    x = np.linspace(0, 1, k + 1)
    return DeletionCheck(important.tolist(), random_mean.tolist(), float(np.trapezoid(important, x)),
                         float(np.trapezoid(random_mean, x)))
