"""How much each channel of an earlier layer contributes to a target, on some photos.

Integrated gradients (Sundararajan et al. 2017) from a baseline ``b``, the folder's mean
activation of each input channel: along the straight path from ``b`` to the photo's maps ``x``,

    attribution_c = sum over positions of (x - b)_c * mean over the path of d target / d x_c,

which adds up to target(x) - target(b), up to the path's discretization (``steps`` midpoints);
the completeness error says how far. Gradient x activation takes the gradient at ``x`` alone:
one backward pass, and no such sum. Signs are kept: an input whose value on the photos lowers
the target gets a negative attribution. The mean gradient over the path says the edge's sign:
whether raising the input raises the target (excites) or lowers it (inhibits), whatever the
input's value on these photos."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from convscope.methods.circuits.replaced import Link
from convscope.runtime.progress import Progress

INTEGRATED_GRADIENTS = "integrated-gradients"
GRADIENT_X_ACTIVATION = "gradient-x-activation"


@dataclass
class Attribution:
    """Each input channel's share of the target on the photos.

    ``inputs`` are the photos' maps of the input layer as the network uses them, and
    ``contributions`` their attribution at each position (summed over positions, the
    attribution). A subclass may attribute to other inputs than channels (concepts: see
    ``concept_inputs``); ``ablated`` is then how its inputs are set to their baseline."""

    method: str
    inputs: torch.Tensor  # (P, C, H, W) or (P, C)
    baseline: torch.Tensor  # (C,)
    contributions: torch.Tensor  # (P, C, H, W) or (P, C)
    gradient: torch.Tensor  # (C,): d target / d input, averaged over photos, positions and the path
    target: torch.Tensor  # (P,): the target on the photos
    at_baseline: torch.Tensor  # (P,): the target with the whole input layer at the baseline
    gradients: torch.Tensor  # (P, C, H, W) or (P, C): d target / d input at each position, averaged over the path

    @property
    def per_photo(self) -> torch.Tensor:
        """(P, C): each photo's attribution per input channel."""
        return self.contributions.flatten(2).sum(dim=2) if self.contributions.dim() > 2 else self.contributions

    @property
    def values(self) -> torch.Tensor:
        """(C,): the attribution per input channel, averaged over the photos."""
        return self.per_photo.mean(dim=0)

    @property
    def rest(self) -> float:
        """The attribution of what the inputs do not cover, averaged over the photos (0 for channels,
        which cover the whole layer)."""
        return 0.0

    def ablated(self, chosen: Sequence[int]) -> torch.Tensor:
        """The photos' input-layer maps with the inputs ``chosen`` at their baseline."""
        maps = self.inputs.clone()
        index = torch.as_tensor(list(chosen), dtype=torch.long)
        maps[:, index] = _expand(self.baseline[index], maps[0, index]).expand_as(maps[:, index])
        return maps

    @property
    def completeness_error(self) -> float:
        """|sum of the attributions - (target - target at the baseline)| / |target - target at
        the baseline|, on the photos' means (0 for exact integrated gradients)."""
        rise = float((self.target - self.at_baseline).mean())
        return abs(float(self.values.sum()) + self.rest - rise) / max(abs(rise), 1e-12)


def _expand(baseline: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The (C,) baseline broadcast to maps shaped ``like`` ((..., C, H, W) or (..., C))."""
    return baseline.view(*([1] * (like.dim() - 3)), -1, 1, 1) if like.dim() > 2 else baseline


def attribute(link: Link, images: torch.Tensor, baseline: torch.Tensor, *, method: str = INTEGRATED_GRADIENTS,
              steps: int = 32, batch: int = 16, read: tuple[torch.Tensor, torch.Tensor] | None = None,
              progress: Progress | None = None) -> Attribution:
    """Each channel of the link's input layer's contribution to its target on ``images``.

    Args:
        link: the target and its input layer.
        images: (P, 3, S, S) photos in [0, 1].
        baseline: (C,) the input channels' baseline (the folder's mean activation).
        method: ``integrated-gradients`` or ``gradient-x-activation``.
        steps: integrated gradients' points on the path (midpoints of ``steps`` equal parts).
        batch: rows (a photo at one point of the path) per forward and backward pass.
        read: the photos' input maps and target (``Link.input_maps``), when the caller has them
            (else one pass reads them).
        progress: called with (rows done, rows in all).
    Returns:
        The attribution, with the target on the photos and at the baseline.
    """
    inputs, target = read if read is not None else link.input_maps(link.read(images))
    base = _expand(baseline.to(inputs.device), inputs[0]).expand_as(inputs[0])
    alphas = [(k + 0.5) / steps for k in range(steps)] if method == INTEGRATED_GRADIENTS else [1.0]
    rows = [(p, a) for p in range(len(images)) for a in alphas]
    gradients = torch.zeros_like(inputs)
    with link.model.math_mode():
        for start in range(0, len(rows), batch):
            chunk = rows[start:start + batch]
            photos = torch.tensor([p for p, _ in chunk], device=inputs.device)
            alpha = torch.tensor([a for _, a in chunk], device=inputs.device).view(-1, *([1] * (inputs.dim() - 1)))
            maps = (base + alpha * (inputs[photos] - base)).detach().requires_grad_(True)
            value = link.target_with(maps, images[photos])
            (grad,) = torch.autograd.grad(value.sum(), maps)
            gradients.index_add_(0, photos, grad.detach() / len(alphas))
            if progress is not None:
                progress(min(start + batch, len(rows)), len(rows))
        with torch.no_grad():
            at_baseline = link.target_with(base.expand_as(inputs).contiguous(), images)
    contributions = (inputs - base) * gradients
    mean_gradient = gradients.flatten(2).mean(dim=2).mean(dim=0) if gradients.dim() > 2 else gradients.mean(dim=0)
    return Attribution(method, inputs.cpu(), baseline.cpu(), contributions.cpu(), mean_gradient.cpu(), target.cpu(),
                       at_baseline.cpu(), gradients.cpu())
