"""Pictures in and out: reading photos, atomic writing, picture objects, grid sheets."""
from __future__ import annotations

import io
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageInputError

IMAGE_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; renames it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(path: str | Path, data: object) -> None:
    """Writes ``data`` as JSON, whole or not at all."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


def image_format(path: str | Path) -> str:
    """The Pillow format for an output path, from its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ImageInputError(f"cannot write {path}: use a .png, .jpg or .jpeg file name")
    return IMAGE_SUFFIXES[suffix]


class Picture:
    """An RGB picture (H, W, 3 uint8) that saves itself, converts with numpy.asarray,
    and shows itself in Jupyter."""

    def __init__(self, pixels: np.ndarray, info: dict | None = None) -> None:
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ValueError("a Picture holds an (H, W, 3) uint8 array")
        self.pixels = pixels
        self.info = dict(info or {})

    @classmethod
    def from_tensor(cls, image: torch.Tensor, info: dict | None = None) -> "Picture":
        """From a (3, H, W) float tensor in [0, 1]."""
        arr = image.detach().clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
        return cls(np.ascontiguousarray(arr), info)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.pixels.shape[1], self.pixels.shape[0]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.pixels if dtype is None else self.pixels.astype(dtype)

    def to_pil(self) -> Image.Image:
        return Image.fromarray(self.pixels)

    def to_tensor(self) -> torch.Tensor:
        """(3, H, W) float in [0, 1]."""
        return torch.tensor(self.pixels).permute(2, 0, 1).float().div(255)  # a copy: pixels may be read-only

    def save(self, path: str | Path, quality: int = 95) -> Path:
        """Writes PNG or JPEG (by suffix), atomically; returns the path."""
        fmt = image_format(path)
        with atomic_path(path) as tmp:
            options = {"quality": quality} if fmt == "JPEG" else {}
            self.to_pil().save(tmp, format=fmt, **options)
        return Path(path)

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.to_pil().save(buf, format="PNG")
        return buf.getvalue()

    def __repr__(self) -> str:
        w, h = self.size
        return f"Picture({w}x{h}, {self.info})"


def load_photo(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """An RGB uint8 array from a PNG/JPEG/... file, EXIF orientation applied.

    Returns the pixels and notes for the user (for example, a dropped alpha channel).
    """
    path = Path(path)
    if not path.exists():
        raise ImageInputError(f"image not found: {path}")
    if path.is_dir():
        raise ImageInputError(f"{path} is a folder, not an image")
    notes = []
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            if "A" in img.getbands() or img.info.get("transparency") is not None:
                notes.append(f"{path.name}: alpha channel dropped")
            rgb = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageInputError(f"cannot read {path} as an image ({type(e).__name__}): "
                              "use a PNG or JPEG file") from e
    return rgb, notes


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 to (3, H, W) float in [0, 1]."""
    return torch.tensor(rgb).permute(2, 0, 1).float().div(255)


def fit_square(image: torch.Tensor, size: int) -> torch.Tensor:
    """Resizes the short side to ``size`` and crops the centre square, (3, H, W) -> (3, size, size)."""
    _, h, w = image.shape
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    resized = torch.nn.functional.interpolate(image[None], size=(nh, nw), mode="bilinear",
                                              antialias=True, align_corners=False)[0]
    top, left = (nh - size) // 2, (nw - size) // 2
    return resized[:, top:top + size, left:left + size]


def deprocess_keras2016(image: torch.Tensor) -> torch.Tensor:
    """The article's display normalization: centre, std 0.1, +0.5, clip; per image, to [0, 1]."""
    x = image - image.mean(dim=(1, 2, 3), keepdim=True)
    x = x / (x.std(dim=(1, 2, 3), keepdim=True, unbiased=False) + 1e-5)
    return (x * 0.1 + 0.5).clamp(0, 1)


def sheet_side(count: int) -> int:
    """Tiles per side of the smallest square that holds ``count`` tiles."""
    return max(1, math.ceil(math.sqrt(count)))


def stitch(pictures: Sequence[Picture], margin: int = 5) -> Picture:
    """Pictures in row-major order on a square black sheet with ``margin`` px between tiles."""
    if not pictures:
        raise ValueError("nothing to stitch")
    w, h = pictures[0].size
    n = sheet_side(len(pictures))
    sheet = np.zeros((n * h + (n - 1) * margin, n * w + (n - 1) * margin, 3), dtype=np.uint8)
    for i, pic in enumerate(pictures):
        r, c = divmod(i, n)
        y, x = r * (h + margin), c * (w + margin)
        sheet[y:y + h, x:x + w] = pic.pixels
    return Picture(sheet)
