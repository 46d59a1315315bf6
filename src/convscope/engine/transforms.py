"""Random transforms for robustness (Lucid's pad, jitter, scale and rotate; crops with noise), in plain torch.

Each transform draws its parameters from a seeded ``torch.Generator`` in ``draw`` and
applies them deterministically in ``transform``; one draw serves the whole batch. A render
draws every step's parameters before its first step (``draw_steps``), so the steps do no
random draws and no host work beyond applying them.

A transform makes ``views`` images of each image it is given (one for all but
``RandomCrops``), unit-major: the views of image i are rows i*views ... i*views+views-1.
``whole`` is how the network sees the untransformed image (for the final score).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Transform(nn.Module):
    """A random image transform: ``forward(x, gen)`` = ``transform(x, *draw(gen))``."""

    views = 1

    def whole(self, x: torch.Tensor) -> torch.Tensor:
        """The untransformed images as the network should see them."""
        return x

    def draw(self, gen: torch.Generator) -> tuple:
        return ()

    def transform(self, x: torch.Tensor, *params: Any, **_: Any) -> torch.Tensor:
        """The images moved by drawn parameters ``params`` (the same for every image)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return self.transform(x, *self.draw(gen))

    def draw_steps(self, gen: torch.Generator, steps: int) -> list[tuple]:
        """The parameters of ``steps`` steps, in the order single draws would make them."""
        return [self.draw(gen) for _ in range(steps)]


def _choice(options: Sequence, gen: torch.Generator):
    return options[int(torch.randint(len(options), (1,), generator=gen))]


LUCID_SCALES = tuple(1 + (i - 5) / 50 for i in range(11))  # 0.90, 0.92, ..., 1.10
LUCID_ANGLES = tuple(range(-10, 11))


class LucidTransforms(Transform):
    """Lucid's standard set: pad ``pad`` (filled with ``fill``), jitter ``jitter``, scale by
    one of ``scales``, rotate by one of ``angles`` (degrees, counter-clockwise), jitter
    ``jitter_after``; composed into one affine map and resampled once (bilinear). The network
    sees the centre of the result at the image's own size, so a step costs what an image of
    that size costs (the padded result was 126-154 px for 128 px pictures)."""

    def __init__(self, pad: int = 12, jitter: int = 8, scales: Sequence[float] = LUCID_SCALES,
                 angles: Sequence[float] = LUCID_ANGLES, jitter_after: int = 4, fill: float = 0.5) -> None:
        super().__init__()
        self.pad, self.jitter, self.jitter_after, self.fill = pad, jitter, jitter_after, fill
        self.scales, self.angles = list(scales), list(angles)

    def draw(self, gen: torch.Generator) -> tuple[int, int, float, float, int, int]:
        ox, oy = torch.randint(self.jitter + 1, (2,), generator=gen).tolist()
        scale, angle = _choice(self.scales, gen), _choice(self.angles, gen)
        ox_after, oy_after = torch.randint(self.jitter_after + 1, (2,), generator=gen).tolist()
        return ox, oy, scale, angle, ox_after, oy_after

    def transform(self, x: torch.Tensor, ox: int, oy: int, scale: float, angle: float, ox_after: int,
              oy_after: int) -> torch.Tensor:
        h, w = x.shape[-2:]
        return resample(x, self.view_to_image(h, w, ox, oy, scale, angle, ox_after, oy_after), self.fill)

    def view_to_image(self, h: int, w: int, ox: int, oy: int, scale: float, angle: float,
                      ox_after: int, oy_after: int) -> np.ndarray:
        """(3, 3): a point of the view to the point of the image it shows, in pixel
        coordinates (pixel i spans i..i+1), undoing the steps from the last to the first."""
        jittered = (h + 2 * self.pad - self.jitter, w + 2 * self.pad - self.jitter)
        scaled = (max(1, round(jittered[0] * scale)), max(1, round(jittered[1] * scale)))
        final = (scaled[0] - self.jitter_after, scaled[1] - self.jitter_after)
        unscale = np.diag([jittered[1] / scaled[1], jittered[0] / scaled[0], 1.0])
        return (_shift(ox - self.pad, oy - self.pad) @ unscale @ _turn(angle, scaled[0], scaled[1])
                @ _shift(ox_after, oy_after) @ _shift((final[1] - w) / 2, (final[0] - h) / 2))


class NoTransforms(Transform):
    """The image as it is."""

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        return x


class TransformsBuilder(Protocol):
    """Makes a render's transforms, and says what the network will see."""

    @property
    def views(self) -> int:
        """Views of each image per step."""
        ...

    @property
    def resizes(self) -> bool:
        """Whether the views have a size of their own (``view_size``) rather than the picture's."""
        ...

    def view_hw(self, hw: tuple[int, int], input_size: int) -> tuple[int, int]:
        """(height, width) of a view of a picture of ``hw``, for a network whose input size is
        ``input_size``."""
        ...

    def __call__(self, hw: tuple[int, int], input_size: int, steps: int) -> Transform:
        """The transforms of a render of ``steps`` steps of pictures of ``hw``."""
        ...


@dataclass(frozen=True)
class AtPictureSize:
    """Builds transforms whose views have the picture's own size, one view per step: a
    ``Transform`` class of the user's own (or a function that makes one) fits here."""

    make: Callable[[], Transform]
    views: int = 1
    resizes: bool = False

    def view_hw(self, hw: tuple[int, int], input_size: int) -> tuple[int, int]:
        return hw

    def __call__(self, hw: tuple[int, int], input_size: int, steps: int) -> Transform:
        return self.make()


lucid_transforms = AtPictureSize(LucidTransforms)
no_transforms = AtPictureSize(NoTransforms)


def rotate(x: torch.Tensor, angle: float, fill: float = 0.5) -> torch.Tensor:
    """Rotates (N, C, H, W) images counter-clockwise by ``angle`` degrees, bilinear; corners
    from outside are ``fill``."""
    return resample(x, _turn(angle, *x.shape[-2:]), fill)


def resample(x: torch.Tensor, view_to_image: np.ndarray, fill: float) -> torch.Tensor:
    """(N, C, H, W) images sampled (bilinear) at the points a (3, 3) affine map takes each
    output pixel's centre to, in pixel coordinates (pixel i spans i..i+1); points outside
    the image are ``fill``. The map's numbers go in as scalars, so nothing is copied from
    the host to the device."""
    n, _, h, w = x.shape
    (a, b, c), (d, e, f), _ = view_to_image.tolist()
    ys = (torch.arange(h, dtype=x.dtype, device=x.device) + 0.5)[:, None]
    xs = (torch.arange(w, dtype=x.dtype, device=x.device) + 0.5)[None, :]
    grid = torch.stack(((a * xs + b * ys + c) * (2 / w) - 1, (d * xs + e * ys + f) * (2 / h) - 1), dim=-1)
    return F.grid_sample(x - fill, grid.expand(n, h, w, 2), mode="bilinear", padding_mode="zeros",
                         align_corners=False) + fill


def _shift(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=np.float64)


def _turn(angle: float, h: int, w: int) -> np.ndarray:
    """A point of an ``h`` x ``w`` picture turned counter-clockwise by ``angle`` degrees about
    its centre, to the point it shows (y points down, hence the signs)."""
    t = math.radians(angle)
    turn = np.array([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0], [0, 0, 1]])
    return _shift(w / 2, h / 2) @ turn @ _shift(-w / 2, -h / 2)


@dataclass(frozen=True)
class DrawnNoise:
    """Crop noise drawn but not kept: the generator's state where it starts, so that every
    step's noise can be drawn up front and made again, the same numbers, when applied."""

    state: torch.Tensor
    shape: tuple[int, ...]
    std: float

    def tensor(self, gen: torch.Generator | None = None) -> torch.Tensor:
        """Gaussian noise of std ``std`` plus uniform noise of width ``std``."""
        gen = gen if gen is not None else torch.Generator().set_state(self.state)
        noise = torch.randn(self.shape, generator=gen) * self.std
        return noise + (torch.rand(self.shape, generator=gen) - 0.5) * self.std


class RandomCrops(Transform):
    """MACO's views: ``views`` random square-ish crops of each image, resized to ``size``
    (height, width), with Gaussian noise of std ``noise`` and uniform noise of width ``noise``.

    A crop's side is the image's times a scale drawn from ``scale`` x [0.8, 1.2] (at most 1);
    its centre moves from the image's by the room the crop leaves times a normal draw (std
    0.3, clipped to +-1), so the crop stays inside. The same crops and noise serve every
    image of a batch. With ``scale_end``, the scale moves linearly from ``scale`` at the first
    draw to ``scale_end`` at draw ``steps`` (coarse to fine)."""

    def __init__(self, views: int, size: tuple[int, int], scale: float, noise: float,
                 scale_end: float | None = None, steps: int = 1) -> None:
        super().__init__()
        self.views, self.size, self.scale, self.noise = views, size, scale, noise
        self.scale_end, self.steps, self.drawn = scale_end, steps, 0

    def scale_now(self) -> float:
        """The crop scale of the next draw."""
        if self.scale_end is None:
            return self.scale
        t = min(1.0, self.drawn / max(1, self.steps - 1))
        return self.scale + (self.scale_end - self.scale) * t

    def draw(self, gen: torch.Generator) -> tuple[torch.Tensor, "DrawnNoise"]:
        k = self.views
        sides = (self.scale_now() * (0.8 + 0.4 * torch.rand(k, generator=gen))).clamp(max=1.0)
        self.drawn += 1
        room = 1 - sides  # how far a centre may move from the middle, in half-widths
        centres = (torch.randn(k, 2, generator=gen) * 0.3).clamp(-1, 1) * room[:, None]
        theta = torch.zeros(k, 2, 3)
        theta[:, 0, 0] = theta[:, 1, 1] = sides
        theta[:, :, 2] = centres
        noise = DrawnNoise(gen.get_state(), (k, 3, *self.size), self.noise)
        noise.tensor(gen)  # moves the generator past the noise, as drawing it does
        return theta, noise

    def transform(self, x: torch.Tensor, theta: torch.Tensor, noise: "torch.Tensor | DrawnNoise") -> torch.Tensor:
        b, c, height, width = x.shape
        k = theta.shape[0]
        h, w = self.size
        noise = noise.tensor() if isinstance(noise, DrawnNoise) else noise
        # a crop is a scale and a shift, so its resampling is one matrix per axis:
        # rows (k, h, H) @ image @ cols (k, W, w), as matrix products (grid_sample and its
        # backward took 2.6-3.8x longer on a CPU)
        cols = on_device_of(crop_resampling(theta[:, 0, 0], theta[:, 0, 2], w, width), x)
        rows = on_device_of(crop_resampling(theta[:, 1, 1], theta[:, 1, 2], h, height), x)
        views = rows[:, None] @ (x.reshape(1, b * c, height, width) @ cols.transpose(1, 2)[:, None])
        views = views.view(k, b, c, h, w) + on_device_of(noise, x)[:, None]
        return views.transpose(0, 1).reshape(b * k, c, h, w)

    def whole(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=self.size, mode="bilinear", align_corners=False, antialias=True)


@dataclass(frozen=True)
class Crops:
    """Builds MACO's views (``RandomCrops``): ``views`` crops per step, resized so that their
    shorter side is ``view_size`` (0: the network's input size), in the picture's shape."""

    views: int
    view_size: int
    crop_scale: float
    noise: float
    crop_scale_end: float | None = None
    resizes: bool = True

    def view_hw(self, hw: tuple[int, int], input_size: int) -> tuple[int, int]:
        h, w = hw
        side = self.view_size or input_size
        return (side, max(1, round(side * w / h))) if h <= w else (max(1, round(side * h / w)), side)

    def __call__(self, hw: tuple[int, int], input_size: int, steps: int) -> Transform:
        return RandomCrops(self.views, self.view_hw(hw, input_size), self.crop_scale, self.noise,
                           self.crop_scale_end, steps)


def on_device_of(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``t``, made on the host, in ``like``'s device and dtype. To a GPU it goes through pinned
    memory without waiting (a copy from pageable memory would wait for the device, once per
    step)."""
    if like.device.type != "cuda":
        return t.to(like)
    return t.pin_memory().to(like.device, non_blocking=True).to(like.dtype)


def crop_resampling(scale: torch.Tensor, centre: torch.Tensor, out: int, size: int) -> torch.Tensor:
    """(k, out, size): each row resamples one axis of an image of ``size`` pixels into ``out``
    pixels of a crop (``scale`` of the axis, centred at ``centre``, both in [-1, 1] units as
    ``F.affine_grid`` takes them). Each output pixel averages two bilinear samples (a cheap
    antialiasing filter); samples past the edge reflect and clamp as ``F.grid_sample``'s
    reflection padding does, so the result equals grid_sample at 2x and 2x2 average pooling."""
    steps = torch.arange(2 * out, dtype=torch.float64)
    at = scale.double()[:, None] * ((2 * steps + 1) / (2 * out) - 1) + centre.double()[:, None]
    pixel = ((at + 1) * size - 1) / 2
    folded = (pixel + 0.5).abs()  # reflect into [-0.5, size - 0.5]
    flips = torch.floor(folded / size)
    within = folded - flips * size
    pixel = (torch.where(flips % 2 == 0, within, size - within) - 0.5).clamp(0, size - 1)
    left = pixel.floor()
    right_weight = pixel - left
    left = left.long()
    matrix = torch.zeros(scale.shape[0], 2 * out, size, dtype=torch.float64)
    matrix.scatter_add_(2, left[..., None], (1 - right_weight)[..., None])
    matrix.scatter_add_(2, (left + 1).clamp(max=size - 1)[..., None], right_weight[..., None])
    return ((matrix[:, 0::2] + matrix[:, 1::2]) / 2).float()
