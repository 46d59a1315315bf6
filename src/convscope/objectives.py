"""What to maximize: objectives that know their layers, combine with + - * /, and describe themselves.

An objective maps the captured activations ``{layer: tensor}`` of a batch to one value
per batch slot, shape (B,).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from .errors import OutOfRangeError
from .models.base import LOGITS, VisionModel

Acts = dict[str, torch.Tensor]
Check = Callable[[VisionModel, int], None]


class Objective:
    """A differentiable score per batch slot, the layers it reads, and a readable name."""

    def __init__(self, fn: Callable[[Acts], torch.Tensor], layers: Sequence[str], description: str,
                 checks: Sequence[Check] = (), precedence: int = 3, unit: tuple[str, int] | None = None) -> None:
        self.fn = fn
        self.layers = tuple(dict.fromkeys(layers))
        self.description = description
        self.checks = tuple(checks)
        self.precedence = precedence  # 1: sum, 2: product, 3: atom (for parentheses in descriptions)
        self.unit = unit  # (layer, channel) for a plain channel objective, so batches of them can be gathered

    def __call__(self, acts: Acts) -> torch.Tensor:
        return self.fn(acts)

    def validate(self, model: VisionModel, size: int) -> None:
        """Fails before any computation when a layer, channel or size does not fit ``model``."""
        for name in self.layers:
            layer = model.layer(name)
            if layer.name in model.fixed_size_layers and size != model.input_size:
                raise OutOfRangeError(
                    f"layer {name!r} of {model.name} only works at {model.input_size}x{model.input_size} "
                    f"(its fully connected weights fix the input size); use --size {model.input_size}")
        for check in self.checks:
            check(model, size)

    def __str__(self) -> str:
        return self.description

    def __repr__(self) -> str:
        return f"Objective({self.description!r})"

    def _wrapped(self, level: int) -> str:
        return f"({self.description})" if self.precedence < level else self.description

    def _combine(self, other: "Objective | float", op: str, fn: Callable, level: int, reverse: bool = False) -> "Objective":
        other = other if isinstance(other, Objective) else constant(float(other))
        left, right = (other, self) if reverse else (self, other)
        right_level = level + 1 if op in "-/" else level
        text = f"{left._wrapped(level)} {op} {right._wrapped(right_level)}"
        return Objective(lambda acts: fn(left(acts), right(acts)), left.layers + right.layers, text,
                         left.checks + right.checks, precedence=level)

    def __add__(self, other): return self._combine(other, "+", torch.add, 1)
    def __radd__(self, other): return self._combine(other, "+", torch.add, 1, reverse=True)
    def __sub__(self, other): return self._combine(other, "-", torch.sub, 1)
    def __rsub__(self, other): return self._combine(other, "-", torch.sub, 1, reverse=True)
    def __mul__(self, other): return self._combine(other, "*", torch.mul, 2)
    def __rmul__(self, other): return self._combine(other, "*", torch.mul, 2, reverse=True)
    def __truediv__(self, other): return self._combine(other, "/", torch.div, 2)
    def __rtruediv__(self, other): return self._combine(other, "/", torch.div, 2, reverse=True)

    def __neg__(self) -> "Objective":
        return Objective(lambda acts: -self(acts), self.layers, f"-{self._wrapped(3)}", self.checks)


def constant(value: float) -> Objective:
    """A number, as an objective (so that ``0.5 * channel(...)`` works)."""
    text = f"{value:g}"
    return Objective(lambda acts: torch.tensor(value), (), text, precedence=3 if value >= 0 else 1)


def _channel_check(layer: str, n: int) -> Check:
    return lambda model, size: model.check_channel(layer, n)


def _slot_mean(t: torch.Tensor) -> torch.Tensor:
    """The mean of everything but the batch dimension."""
    return t.flatten(1).mean(dim=1)


def channel(layer: str, n: int) -> Objective:
    """The mean activation of channel ``n`` of ``layer`` (a class score on the logits)."""
    def fn(acts: Acts) -> torch.Tensor:
        a = acts[layer][:, n]
        return _slot_mean(a) if a.dim() > 1 else a
    return Objective(fn, [layer], f"{layer}:{n}", [_channel_check(layer, n)], unit=(layer, n))


def channel_scores(acts: torch.Tensor, channels: Sequence[int] | torch.Tensor) -> torch.Tensor:
    """Slot i's ``channel(layer, channels[i])`` for a batch of the layer's outputs, in one gather
    (the same values and gradients as evaluating each objective on the whole batch)."""
    rows = torch.arange(len(channels), device=acts.device)
    picked = acts[rows, torch.as_tensor(channels, device=acts.device)]
    return _slot_mean(picked) if picked.dim() > 1 else picked


def neuron(layer: str, n: int, x: int | None = None, y: int | None = None) -> Objective:
    """Channel ``n`` of ``layer`` at one position (the centre unless x, y are given)."""
    def fn(acts: Acts) -> torch.Tensor:
        a = acts[layer]
        if a.dim() != 4:
            raise OutOfRangeError(f"layer {layer!r} has no spatial positions: use {layer}:{n}")
        h, w = a.shape[-2:]
        px = w // 2 if x is None else x
        py = h // 2 if y is None else y
        if not (0 <= px < w and 0 <= py < h):
            raise OutOfRangeError(f"position ({px}, {py}) is outside layer {layer!r}, which is {w}x{h} here")
        return a[:, n, py, px]
    where = "" if x is None and y is None else f"@{x},{y}"
    return Objective(fn, [layer], f"{layer}:{n}{where}", [_channel_check(layer, n)])


def layer(name: str) -> Objective:
    """The sum of the squared activations of a layer: DeepDream's objective."""
    return Objective(lambda acts: acts[name].pow(2).flatten(1).sum(dim=1), [name], f"layer({name})")


def _class_check(k: int) -> Check:
    def check(model: VisionModel, size: int) -> None:
        model.check_channel(LOGITS, k)
    return check


def class_logit(k: int) -> Objective:
    """The network's logit for class ``k`` (before the softmax)."""
    return Objective(lambda acts: acts[LOGITS][:, k], [LOGITS], f"{LOGITS}:{k}", [_class_check(k)])


def class_prob(k: int) -> Objective:
    """The softmax probability of class ``k``."""
    return Objective(lambda acts: acts[LOGITS].softmax(dim=1)[:, k], [LOGITS], f"prob({k})", [_class_check(k)])


def direction(layer: str, vector: Sequence[float] | torch.Tensor) -> Objective:
    """The mean over positions of the dot product of the activations with ``vector``."""
    vec = torch.as_tensor(vector, dtype=torch.float32).flatten()

    def fn(acts: Acts) -> torch.Tensor:
        a = acts[layer]
        v = vec.to(a.device, a.dtype).view(1, -1, *([1] * (a.dim() - 2)))
        return _slot_mean((a * v).sum(dim=1, keepdim=True))

    def check(model: VisionModel, size: int) -> None:
        channels = model.layer(layer).channels
        if vec.numel() != channels:
            raise OutOfRangeError(f"direction has {vec.numel()} values but layer {layer!r} has {channels} channels")
    return Objective(fn, [layer], f"direction({layer})", [check])


def diversity(layer: str) -> Objective:
    """Lucid's diversity: minus each slot's summed cosine similarity of its Gram matrix
    with the other slots' (divided by the batch size). Add it with a weight to a
    batch of the same unit to get different pictures of it."""
    def fn(acts: Acts) -> torch.Tensor:
        a = acts[layer]
        b, c = a.shape[:2]
        flat = a.reshape(b, c, -1)
        grams = torch.bmm(flat, flat.transpose(1, 2)).reshape(b, -1)
        grams = torch.nn.functional.normalize(grams, dim=1, eps=1e-10)
        sims = grams @ grams.T
        others = sims.sum(dim=1) - sims.diagonal()
        return -others / b
    return Objective(fn, [layer], f"diversity({layer})")
