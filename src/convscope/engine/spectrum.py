"""The amplitude spectrum of natural photos, for the ``maco`` recipe: measured from photos,
saved, loaded, and resized to any image size.

A spectrum is the mean |rFFT| of random square crops of photos, each crop resized to a
stated resolution, mapped to the decorrelated colour space the render loop optimizes in,
and tapered by a Hann window (without it, the jump between a crop's opposite edges puts a
bright cross on the axes of the spectrum, and grid lines in every picture). It is stored
as (3, R, R//2 + 1) float32 in an ``.npz`` file with its settings.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from convscope.engine.param import correlate
from convscope.engine.spectrum_spec import SpectrumSpec
from convscope.errors import ImageInputError
from convscope.io.files import atomic_path
from convscope.io.notebook import fields_html
from convscope.io.picture import to_tensor

FORMAT = "convscope-spectrum-1"
DEFAULT_FILE = "spectrum.npz"
CROP_SIDES = (0.5, 1.0)  # a crop's side, as a fraction of the photo's shorter side


@dataclass(frozen=True)
class Spectrum:
    """Mean amplitudes (3, R, R//2 + 1) of the rFFT of R x R crops, in decorrelated colours."""

    magnitude: np.ndarray
    settings: dict

    @property
    def resolution(self) -> int:
        return int(self.magnitude.shape[1])

    def resized(self, h: int, w: int) -> torch.Tensor:
        """The amplitudes at the rFFT frequencies of an h x w image, (3, h, w//2 + 1): the
        stored spectrum read at the same frequencies in cycles per pixel (bilinear)."""
        r = self.resolution
        source = torch.from_numpy(self.magnitude).float()
        source = torch.fft.fftshift(source, dim=1)  # rows by increasing frequency, DC at row r//2
        fy = torch.fft.fftfreq(h, dtype=torch.float64)
        fx = torch.fft.rfftfreq(w, dtype=torch.float64)
        rows = (fy * r + r // 2).clamp(0, r - 1)  # source row and column of each target frequency
        cols = (fx * r).clamp(0, r // 2)
        grid_y = 2 * rows / max(r - 1, 1) - 1
        grid_x = 2 * cols / max(r // 2, 1) - 1
        grid = torch.stack(torch.meshgrid(grid_y, grid_x, indexing="ij")[::-1], dim=-1).float()
        out = F.grid_sample(source[None], grid[None], mode="bilinear", align_corners=True)[0]
        return out.clamp(min=0)

    def _repr_html_(self) -> str:
        return fields_html(f"amplitude spectrum, {self.resolution} px", self.settings)

    def save(self, path: str | Path) -> Path:
        """Writes the spectrum as a .npz file (whole or not at all); returns the path."""
        path = Path(path)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                arrays = {"magnitude": self.magnitude.astype(np.float32), "format": np.asarray(FORMAT),
                          **{k: np.asarray(v) for k, v in self.settings.items()}}
                np.savez_compressed(f, **arrays)  # type: ignore[arg-type]  # numpy's stubs take a bool here
        return path


def _random_crops(pixels: np.ndarray, count: int, resolution: int, gen: torch.Generator) -> torch.Tensor:
    """``count`` square crops of an (H, W, 3) photo, sides drawn from CROP_SIDES of its shorter
    side at random places, each resized to ``resolution`` (antialiased)."""
    image = to_tensor(pixels)  # (3, H, W) in [0, 1]
    h, w = image.shape[-2:]
    crops = []
    for _ in range(count):
        low, high = CROP_SIDES
        side = max(1, int(min(h, w) * (low + (high - low) * float(torch.rand((), generator=gen)))))
        top = int(torch.randint(h - side + 1, (), generator=gen))
        left = int(torch.randint(w - side + 1, (), generator=gen))
        crop = image[None, :, top:top + side, left:left + side]
        crops.append(F.interpolate(crop, size=(resolution, resolution), mode="bilinear",
                                   align_corners=False, antialias=True))
    return torch.cat(crops)


def measure_spectrum(photos: Iterable[tuple[str, np.ndarray]], *, count: int | None = None,
                     progress: Callable[[int, int], None] | None = None, spec: SpectrumSpec | None = None,
                     **options: Any) -> Spectrum:
    """The mean amplitude spectrum of random crops of every (name, pixels) photo; the photos
    are read one at a time.

    Args:
        photos: (name, pixels) pairs.
        count: how many photos there will be, for ``progress``.
        progress: called with (photos done, photos in all).
        spec: the options as a ``SpectrumSpec`` (keyword options override its values).
        options: any option of ``SpectrumSpec`` (``resolution``, ``crops``, ``seed``), by name.
    Returns:
        The spectrum.
    Raises:
        ImageInputError: no photos.
        OutOfRangeError: an option out of range.
    """
    spec = SpectrumSpec.of(spec, **options)
    resolution, crops, seed = spec.resolution, spec.crops, spec.seed
    gen = torch.Generator().manual_seed(int(seed))
    total = torch.zeros(3, resolution, resolution // 2 + 1, dtype=torch.float64)
    hann = torch.hann_window(resolution, periodic=False)
    window = hann[:, None] * hann[None, :]
    used = 0
    for _name, pixels in photos:
        batch = correlate(_random_crops(pixels, crops, resolution, gen) - 0.5)
        batch = (batch - batch.mean(dim=(-2, -1), keepdim=True)) * window
        total += torch.fft.rfft2(batch, norm="ortho").abs().sum(dim=0).double()
        used += 1
        if progress is not None:
            progress(used, max(used, count or 0))
    if not used:
        raise ImageInputError("no photos to measure a spectrum from")
    magnitude = (total / (used * crops)).float().numpy()
    settings = {"resolution": resolution, "crops_per_photo": crops, "photos": used, "seed": seed,
                "colours": "decorrelated", "crop_sides": list(CROP_SIDES), "window": "hann"}
    return Spectrum(magnitude, settings)


def load_spectrum(path: str | Path) -> Spectrum:
    """A spectrum written by ``convscope spectrum`` (or ``Spectrum.save``); a file of another
    kind is refused with a message."""
    path = Path(path)
    if not path.is_file():
        raise ImageInputError(f"spectrum file not found: {path} (make one with `convscope spectrum PHOTOS -o "
                              f"{path.name}`)")
    try:
        with np.load(path, allow_pickle=False) as data:
            fields = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as e:
        raise ImageInputError(f"{path} is not a spectrum file ({e}); make one with `convscope spectrum`") from e
    if "magnitude" not in fields or str(fields.get("format", "")) != FORMAT:
        raise ImageInputError(f"{path} is not a convscope spectrum (no {FORMAT} magnitude); make one with "
                              "`convscope spectrum`")
    magnitude = np.asarray(fields.pop("magnitude"), dtype=np.float32)
    fields.pop("format")
    if magnitude.ndim != 3 or magnitude.shape[0] != 3 or magnitude.shape[2] != magnitude.shape[1] // 2 + 1 \
            or magnitude.shape[1] < 8:
        raise ImageInputError(f"{path}: the magnitude has shape {tuple(magnitude.shape)}, not (3, R, R//2+1); "
                              "make the file again with `convscope spectrum`")
    if not np.all(np.isfinite(magnitude)) or magnitude.min() < 0 or magnitude.max() <= 0:
        raise ImageInputError(f"{path}: the magnitude has negative, infinite or only zero values; make the file "
                              "again with `convscope spectrum`")
    settings = {k: v.item() if v.ndim == 0 else v.tolist() for k, v in fields.items()}
    return Spectrum(magnitude, settings)


@cache
def default_spectrum() -> Spectrum:
    """The spectrum that ships with convscope (see ``data/spectrum.txt`` for how it was made)."""
    return load_spectrum(Path(str(resources.files("convscope") / "data" / DEFAULT_FILE)))


def spectrum_for(path: str | Path | None) -> Spectrum:
    """The user's spectrum file, or the one that ships with convscope."""
    return default_spectrum() if not path else load_spectrum(path)
