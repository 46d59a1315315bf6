"""What to maximize: objectives that know their layers, combine with + - * /, and describe themselves.

An objective maps the captured activations ``{layer: tensor}`` of a batch to one value
per batch slot, shape (B,).
"""
from __future__ import annotations

import operator
from typing import Callable, Sequence

import torch

from convscope.errors import OutOfRangeError
from convscope.models.base import EXTRA, INPUT, LOGITS, VisionModel

Acts = dict[str, torch.Tensor]
Check = Callable[[VisionModel, "int | tuple[int, int]"], None]


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

    def validate(self, model: VisionModel, size: int | tuple[int, int]) -> None:
        """Fails before any computation when a layer, channel or size (a side, or (height,
        width)) does not fit ``model``."""
        hw = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        for name in self.layers:
            if name == INPUT:
                continue
            layer = model.layer(name.removesuffix(EXTRA))
            if layer.name in model.fixed_size_layers and hw != (model.input_size, model.input_size):
                raise OutOfRangeError(
                    f"layer {name!r} of {model.name} only works at {model.input_size}x{model.input_size} "
                    f"(its fully connected weights fix the input size); use {{size}} {model.input_size}",
                    options=["size"])
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


def unit_number(value: object, what: str = "channel") -> int:
    """A unit number from an int or a numeric string ("12"); a clear error otherwise."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if not isinstance(value, (bool, str)):
        try:
            return operator.index(value)  # type: ignore[arg-type]  # any object with __index__
        except TypeError:
            pass
    raise OutOfRangeError(f"{what} must be a whole number such as 12, got {value!r}")


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


def all_tokens(layer: str, n: int) -> Objective:
    """Feature ``n`` of a token layer, averaged over every token: the patches and the class
    and register tokens (``channel`` averages the patches only)."""
    def fn(acts: Acts) -> torch.Tensor:
        patches, extra = acts[layer][:, n].flatten(1), acts[layer + EXTRA][:, n]
        return torch.cat([patches, extra], dim=1).mean(dim=1)
    return Objective(fn, [layer, layer + EXTRA], f"all_tokens({layer},{n})", [_channel_check(layer, n)])


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
    where = "@c" if x is None and y is None else f"@{x},{y}"
    return Objective(fn, [layer], f"{layer}:{n}{where}", [_channel_check(layer, n)])


def unit_objective(model: VisionModel, layer: str, n: int) -> Objective:
    """What a unit's picture maximizes: its channel mean, or for the model's first convolution
    its centre neuron (a linear layer's channel mean is maximized by a flat colour)."""
    return neuron(layer, n) if model.is_first_conv(layer) else channel(layer, n)


def group(layer: str, *units: int) -> Objective:
    """The sum of several channels' mean activations (a neuron group)."""
    if not units:
        raise OutOfRangeError(f"a group of {layer} needs at least one unit, such as group({layer},1,5)")
    def fn(acts: Acts) -> torch.Tensor:
        a = acts[layer][:, list(units)]
        return (a.flatten(2).mean(dim=2) if a.dim() > 2 else a).sum(dim=1)
    return Objective(fn, [layer], f"group({layer},{','.join(map(str, units))})",
                     [_channel_check(layer, n) for n in units])


def channel_interpolate(layer_a: str, a: int, layer_b: str, b: int) -> Objective:
    """Across a batch of B pictures, slot i maximizes (1 - t) * unit a + t * unit b with
    t = i / (B - 1): one picture that turns from a into b (render it with several seeds)."""
    first, second = channel(layer_a, a), channel(layer_b, b)

    def fn(acts: Acts) -> torch.Tensor:
        va, vb = first(acts), second(acts)
        views = views_of(acts)
        count = va.shape[0] // views
        t = torch.linspace(0, 1, count, device=va.device) if count > 1 else torch.zeros(1, device=va.device)
        t = t.repeat_interleave(views)
        return (1 - t) * va + t * vb
    return Objective(fn, [layer_a, layer_b], f"channel_interpolate({layer_a},{a},{layer_b},{b})",
                     first.checks + second.checks)


VIEWS = "#views"
"""The key under which the render loop tells the objectives how many rows (views) each batch
slot has, when it is more than one: row i*views+k is view k of slot i."""


def views_of(acts: Acts) -> int:
    return int(acts[VIEWS]) if VIEWS in acts else 1


def per_slot(values: torch.Tensor, views: int) -> torch.Tensor:
    """(slots*views, ...) per row to (slots, ...): the mean over each slot's views."""
    return values if views == 1 else values.view(-1, views, *values.shape[1:]).mean(dim=1)


def alignment(layer: str, decay: float = 2.0) -> Objective:
    """Lucid's alignment: minus the mean squared difference of the layer's activations between
    batch slots d = 1..4 apart, divided by decay**d (slot i carries its pairs with later slots).
    Added with a weight to ``channel_interpolate``, it keeps neighbouring pictures aligned."""
    def fn(acts: Acts) -> torch.Tensor:
        views = views_of(acts)
        a = per_slot(acts[layer].flatten(1), views)
        out = torch.zeros(a.shape[0], device=a.device)
        for d in range(1, 5):
            if d < a.shape[0]:
                diff = (a[:-d] - a[d:]).pow(2).mean(dim=1) / decay ** d
                out = out + torch.cat([diff, diff.new_zeros(d)])
        return -out.repeat_interleave(views)
    return Objective(fn, [layer], f"alignment({layer})" if decay == 2 else f"alignment({layer},{decay:g})")


def _matched(target: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """``target`` (one image's activations) resized to the maps of ``a`` (the transforms pad
    and scale the image, so its maps can be a little larger or smaller), batch-expanded."""
    t = target.to(a).reshape(1, *target.shape[-(a.dim() - 1):])
    if t.dim() == 4 and t.shape[-2:] != a.shape[-2:]:
        t = torch.nn.functional.interpolate(t, size=a.shape[-2:], mode="bilinear", align_corners=False)
    return t.expand_as(a)


def closeness(layer: str, target: torch.Tensor, name: str = "photo") -> Objective:
    """Minus the mean squared difference between a layer's activations and ``target`` (the
    activations of one image, (1, ...) or (...)), over the target's mean square: 0 when equal.
    Feature accentuation subtracts it, weighted, to keep a result close to its photo."""
    target = target.detach().float()
    scale = float(target.pow(2).mean().clamp(min=1e-12))

    def fn(acts: Acts) -> torch.Tensor:
        a = acts[layer]
        return -(a - _matched(target, a)).pow(2).flatten(1).mean(dim=1) / scale
    return Objective(fn, [layer], f"closeness({layer},{name})")


def cosine(layer: str, target: torch.Tensor, name: str = "photo") -> Objective:
    """The cosine similarity of a layer's activations with ``target`` (one image's activations)."""
    target = target.detach().float()

    def fn(acts: Acts) -> torch.Tensor:
        a = acts[layer]
        return torch.nn.functional.cosine_similarity(a.flatten(1), _matched(target, a).flatten(1), dim=1)
    return Objective(fn, [layer], f"cosine({layer},{name})")


def caricature_of(layer: str, target: torch.Tensor, name: str = "photo") -> Objective:
    """Lucid's caricature objective: the activations' projection on ``target`` (one image's
    activations; 1 when equal) times their cosine similarity with it. It grows as the layer sees
    more of what it saw in the photo, in the same proportions: an exaggeration."""
    target = target.detach().float()
    norm = float(target.pow(2).mean().clamp(min=1e-12))

    def fn(acts: Acts) -> torch.Tensor:
        a = acts[layer].flatten(1)
        t = _matched(target, acts[layer]).flatten(1)
        cos = torch.nn.functional.cosine_similarity(a, t, dim=1)
        return (a * t).mean(dim=1) / norm * cos.clamp(min=0)
    return Objective(fn, [layer], f"caricature({layer},{name})")


def l1(layer: str = INPUT, constant: float = 0.5) -> Objective:
    """The mean absolute difference of a layer (by default the image) from ``constant``:
    a penalty to subtract, as in ``block8:12 - 0.5*l1()``."""
    return Objective(lambda acts: (acts[layer] - constant).abs().flatten(1).mean(dim=1), [layer],
                     "l1()" if layer == INPUT else f"l1({layer})")


def total_variation(layer: str = INPUT) -> Objective:
    """The mean absolute difference between neighbouring pixels of a layer (by default the
    image): a penalty to subtract, as in ``block8:12 - 5*tv()``."""
    def fn(acts: Acts) -> torch.Tensor:
        x = acts[layer]
        dy = (x[..., 1:, :] - x[..., :-1, :]).abs().flatten(1).mean(dim=1)
        dx = (x[..., :, 1:] - x[..., :, :-1]).abs().flatten(1).mean(dim=1)
        return dx + dy
    return Objective(fn, [layer], "tv()" if layer == INPUT else f"tv({layer})")


def blur(layer: str = INPUT) -> Objective:
    """Lucid's blur penalty: the mean squared difference between a layer (by default the
    image) and a 3x3 box blur of it (held fixed); subtract it, as in ``block8:12 - 10*blur()``."""
    def fn(acts: Acts) -> torch.Tensor:
        x = acts[layer]
        smooth = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False).detach()
        return (x - smooth).pow(2).flatten(1).mean(dim=1)
    return Objective(fn, [layer], "blur()" if layer == INPUT else f"blur({layer})")


def layer(name: str) -> Objective:
    """The sum of the squared activations of a layer: DeepDream's objective."""
    return Objective(lambda acts: acts[name].pow(2).flatten(1).sum(dim=1), [name], f"layer({name})")


def _class_check(k: int) -> Check:
    def check(model: VisionModel, size: int | tuple[int, int]) -> None:
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

    def check(model: VisionModel, size: int | tuple[int, int]) -> None:
        channels = model.layer(layer).channels
        if vec.numel() != channels:
            raise OutOfRangeError(f"direction has {vec.numel()} values but layer {layer!r} has {channels} channels")
    return Objective(fn, [layer], f"direction({layer})", [check])


def diversity(layer: str) -> Objective:
    """Lucid's diversity: minus each slot's summed cosine similarity of its Gram matrix
    with the other slots' (divided by the batch size). Add it with a weight to a
    batch of the same unit to get different pictures of it."""
    def fn(acts: Acts) -> torch.Tensor:
        views = views_of(acts)
        a = acts[layer]
        rows, c = a.shape[:2]
        flat = a.reshape(rows, c, -1)
        grams = per_slot(torch.bmm(flat, flat.transpose(1, 2)).reshape(rows, -1), views)
        grams = torch.nn.functional.normalize(grams, dim=1, eps=1e-10)
        sims = grams @ grams.T
        others = sims.sum(dim=1) - sims.diagonal()
        return (-others / grams.shape[0]).repeat_interleave(views)
    return Objective(fn, [layer], f"diversity({layer})")
