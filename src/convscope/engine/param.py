"""Image parameterizations: how the optimized image is represented.

Every parameterization is an ``nn.Module`` whose ``forward()`` returns a batch of RGB
images (B, 3, H, W) in [0, 1] as the network should see them. Initial values are drawn
from one seeded generator per batch slot, so a slot's start depends only on its seed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import torch
from torch import nn

from convscope.errors import OutOfRangeError

# Square root of ImageNet's colour correlation (Lucid's decomposition).
COLOR_CORRELATION_SQRT = torch.tensor([[0.26, 0.09, 0.02],
                                       [0.27, 0.00, -0.05],
                                       [0.27, -0.09, 0.03]])
COLOR_MATRIX = COLOR_CORRELATION_SQRT / COLOR_CORRELATION_SQRT.norm(dim=0).max()


def _noise(seeds: Sequence[int], shape: tuple[int, ...], std: float) -> torch.Tensor:
    """One (shape) normal draw per seed, stacked: the same seed gives the same slot."""
    draws = [torch.randn(shape, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
    return torch.stack(draws) * std


def decorrelate(x: torch.Tensor, matrix: torch.Tensor = COLOR_MATRIX) -> torch.Tensor:
    """Maps decorrelated colour coordinates to RGB (channels on dim 1); ``matrix`` is
    ``COLOR_MATRIX``, possibly already on ``x``'s device."""
    return torch.einsum("ij,bjhw->bihw", matrix.to(x), x)


def correlate(rgb: torch.Tensor) -> torch.Tensor:
    """The inverse of ``decorrelate``."""
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(COLOR_MATRIX).to(rgb), rgb)


class PixelImage(nn.Module):
    """Raw values per pixel; ``scale`` maps them to [0, 1] (255 for the article's 0..255 space)."""

    def __init__(self, init: torch.Tensor, scale: float = 1.0) -> None:
        super().__init__()
        self.values = nn.Parameter(init.clone())
        self.scale = scale

    def forward(self) -> torch.Tensor:
        return self.values / self.scale


def spectrum_scale(h: int, w: int, decay: float) -> torch.Tensor:
    """1 / f^decay for the rFFT frequencies of an h x w image (lowest frequency clamped)."""
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    freqs = torch.sqrt(fx * fx + fy * fy)
    return 1.0 / freqs.clamp(min=1.0 / max(h, w)) ** decay


class SpectralImage(nn.Module):
    """Fourier coefficients scaled by 1/f^decay: an image whose noise is mostly low-frequency."""

    def __init__(self, spectrum: torch.Tensor, h: int, w: int, decay: float = 1.0) -> None:
        super().__init__()
        self.h, self.w = h, w
        self.spectrum = nn.Parameter(spectrum.clone())  # (B, 3, h, w//2+1, 2) real/imag
        self.scale: torch.Tensor
        self.register_buffer("scale", spectrum_scale(h, w, decay))

    @classmethod
    def random(cls, seeds: Sequence[int], h: int, w: int, decay: float = 1.0, std: float = 0.01) -> "SpectralImage":
        return cls(_noise(seeds, (3, h, w // 2 + 1, 2), std), h, w, decay)

    @classmethod
    def from_spatial(cls, x: torch.Tensor, decay: float = 1.0) -> "SpectralImage":
        """The coefficients whose image is ``x`` (B, 3, H, W)."""
        h, w = x.shape[-2:]
        coeffs = torch.fft.rfft2(x * 4, norm="ortho") / spectrum_scale(h, w, decay).to(x.device)
        return cls(torch.view_as_real(coeffs), h, w, decay)

    def forward(self) -> torch.Tensor:
        coeffs = torch.view_as_complex(self.spectrum) * self.scale
        return torch.fft.irfft2(coeffs, s=(self.h, self.w), norm="ortho") / 4


def standardize(x: torch.Tensor) -> torch.Tensor:
    """Each image (the first dimension) to mean 0 and standard deviation 1."""
    dims = tuple(range(1, x.dim()))
    mean = x.mean(dim=dims, keepdim=True)
    std = x.std(dim=dims, keepdim=True, unbiased=False)
    return (x - mean) / (std + 1e-5)


class MacoImage(nn.Module):
    """MACO's image (Fel et al. 2023): only the phase of the rFFT is optimized; the amplitude
    is a fixed natural-image spectrum. A step standardizes the phase, forms the spectrum
    with the fixed magnitude, inverts it and standardizes the image (per image)."""

    def __init__(self, phase: torch.Tensor, magnitude: torch.Tensor, h: int, w: int) -> None:
        super().__init__()
        self.h, self.w = h, w
        self.phase = nn.Parameter(phase.clone())  # (B, 3, h, w//2+1)
        self.magnitude: torch.Tensor
        self.register_buffer("magnitude", magnitude.clone())  # (3, h, w//2+1)

    @classmethod
    def random(cls, seeds: Sequence[int], magnitude: torch.Tensor, h: int, w: int) -> "MacoImage":
        return cls(_noise(seeds, (3, h, w // 2 + 1), 1.0), magnitude, h, w)

    def forward(self) -> torch.Tensor:
        coeffs = torch.polar(self.magnitude.expand_as(self.phase), standardize(self.phase))
        return standardize(torch.fft.irfft2(coeffs, s=(self.h, self.w), norm="ortho"))


class ToRGB(nn.Module):
    """A base image made valid: optional colour decorrelation, then a sigmoid (or nothing)."""

    def __init__(self, base: nn.Module, decorrelated: bool, sigmoid: bool) -> None:
        super().__init__()
        self.base, self.decorrelated, self.sigmoid = base, decorrelated, sigmoid
        # kept on the image's device, so a step copies nothing from the host
        self.color: torch.Tensor
        self.register_buffer("color", COLOR_MATRIX.to(next(base.parameters()).device))

    def raw(self) -> torch.Tensor:
        """The base output before the sigmoid (what gets optimized, seen as an image)."""
        x = self.base()
        return decorrelate(x, self.color) if self.decorrelated else x

    def forward(self) -> torch.Tensor:
        x = self.raw()
        return torch.sigmoid(x) if self.sigmoid else x


class ImageBuilder(Protocol):
    """Makes the parameterization of a batch: an ``nn.Module`` whose parameters the optimizer
    moves and whose ``forward()`` returns the batch's images (B, 3, H, W) in [0, 1]."""

    def __call__(self, seeds: Sequence[int], hw: tuple[int, int], device: torch.device,
                 init: torch.Tensor | None = None) -> nn.Module:
        """The parameterization of ``len(seeds)`` images of ``hw`` (height, width) on ``device``.

        Args:
            seeds: one seed per image: image i starts from noise drawn with ``seeds[i]``.
            hw: (height, width) of the images.
            device: where the parameters live.
            init: (B, 3, H, W) in [0, 1] to start from instead of noise, or None.
        Returns:
            The module; ``module()`` gives the images.
        """
        ...


@dataclass(frozen=True)
class ParamStyle:
    """How a parameterization's values become pixels: through decorrelated colours, squashed by a
    sigmoid, and (spectral only) with the amplitude's decay over frequency."""

    decorrelated: bool = True
    sigmoid: bool = True
    decay: float = 1.0


def image_param(kind: str, seeds: Sequence[int], size: int | tuple[int, int], *, style: ParamStyle = ParamStyle(),
                init: torch.Tensor | None = None, magnitude: torch.Tensor | None = None,
                device: torch.device | str = "cpu") -> ToRGB:
    """A parameterization by name: "pixel", "spectral", "maco" (phase only, with the fixed
    ``magnitude`` (3, H, W//2+1)), or "gray-noise" (the article's start).

    Args:
        kind: the parameterization's name.
        seeds: one seed per image.
        size: the images' side, or (height, width).
        style: how the values become pixels (gray-noise ignores it).
        init: (B, 3, H, W) in [0, 1] to start every slot from a photo instead of noise.
        magnitude: maco's fixed amplitude.
        device: where the parameters live.
    Returns:
        The module; ``module()`` gives the images.
    """
    h, w = (size, size) if isinstance(size, int) else size
    decorrelated, sigmoid = style.decorrelated, style.sigmoid
    if kind == "maco":
        if init is not None:
            raise OutOfRangeError("the maco recipe starts from noise (its amplitude is fixed): start from a photo "
                                  "with the lucid recipe")
        if magnitude is None or tuple(magnitude.shape) != (3, h, w // 2 + 1):
            raise ValueError(f"maco needs a magnitude of shape (3, {h}, {w // 2 + 1})")
        return ToRGB(MacoImage.random(seeds, magnitude, h, w).to(device), decorrelated, sigmoid)
    if init is not None:
        return _from_image(kind, init.to(device), style)
    if kind == "gray-noise":
        values = torch.stack([torch.rand((3, h, w), generator=torch.Generator().manual_seed(int(s)))
                              for s in seeds]) * 20 + 128
        return ToRGB(PixelImage(values.to(device), scale=255.0), False, False)
    if kind == "pixel":
        return ToRGB(PixelImage(_noise(seeds, (3, h, w), 0.01).to(device)), decorrelated, sigmoid)
    if kind == "spectral":
        return ToRGB(SpectralImage.random(seeds, h, w, style.decay).to(device), decorrelated, sigmoid)
    raise ValueError(f"unknown parameterization {kind!r}: use pixel, spectral, maco or gray-noise")


def _from_image(kind: str, image: torch.Tensor, style: ParamStyle) -> ToRGB:
    """A parameterization whose first image is ``image``."""
    decorrelated, sigmoid = style.decorrelated, style.sigmoid
    x = image.clamp(1e-3, 1 - 1e-3)
    if sigmoid:
        x = torch.logit(x)
    if decorrelated:
        x = correlate(x)
    if kind == "spectral":
        return ToRGB(SpectralImage.from_spatial(x, style.decay), decorrelated, sigmoid)
    if kind == "gray-noise":
        return ToRGB(PixelImage(image * 255.0, scale=255.0), False, False)
    return ToRGB(PixelImage(x), decorrelated, sigmoid)

