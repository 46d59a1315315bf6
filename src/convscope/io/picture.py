"""The Picture (an RGB image that saves and shows itself), tensors to pictures and back,
and sheets of pictures."""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

from convscope.errors import ImageInputError
from convscope.io.files import atomic_path, check_alpha_format, image_format


def importance_pixels(values: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1] to 8-bit."""
    return np.round(np.clip(values, 0, 1) * 255).astype(np.uint8)


class Picture:
    """An RGB picture (H, W, 3 uint8) that saves itself, converts with numpy.asarray,
    and shows itself in Jupyter. ``info`` holds its numbers (JSON-ready); ``extras`` related
    pictures (a first-layer unit's "kernel"); ``snapshots`` the picture after chosen steps
    (step -> Picture); ``importance`` where the objective looked, if rendered."""

    def __init__(self, pixels: np.ndarray, info: dict | None = None) -> None:
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ValueError("a Picture holds an (H, W, 3) uint8 array")
        self.pixels = pixels
        self.info = dict(info or {})
        self.extras: dict[str, Picture] = {}
        self.snapshots: dict[int, Picture] = {}  # step -> the picture after it, for the steps asked for
        self.importance: np.ndarray | None = None  # (H, W) in [0, 1]: where the objective looked, if rendered

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
        """NumPy's protocol: ``copy=True`` always copies, ``copy=False`` never does (and
        refuses a dtype change), ``None`` copies only to change the dtype."""
        needs_cast = dtype is not None and np.dtype(dtype) != self.pixels.dtype
        if copy is False and needs_cast:
            raise ValueError(f"a Picture holds uint8 pixels: converting to {np.dtype(dtype)} needs a copy")
        if needs_cast:
            return self.pixels.astype(dtype)
        return self.pixels.copy() if copy else self.pixels

    def to_pil(self) -> Image.Image:
        return Image.fromarray(self.pixels)

    def to_tensor(self) -> torch.Tensor:
        """(3, H, W) float in [0, 1]."""
        return torch.tensor(self.pixels).permute(2, 0, 1).float().div(255)  # a copy: pixels may be read-only

    def save(self, path: str | Path, quality: int = 95, alpha: bool = False) -> Path:
        """Writes PNG or JPEG (by suffix), atomically; returns the path. With ``alpha``, a PNG
        with the importance map as its alpha channel."""
        fmt = image_format(path)
        if alpha:
            check_alpha_format(path)
            if self.importance is None:
                raise ImageInputError("this picture has no importance map (only rendered pictures have one)")
        with atomic_path(path) as tmp:
            options = {"quality": quality} if fmt == "JPEG" else {}
            image = self.to_pil()
            if alpha and self.importance is not None:
                image = Image.fromarray(np.dstack([self.pixels, importance_pixels(self.importance)]), "RGBA")
            image.save(tmp, format=fmt, **options)
        return Path(path)

    def importance_picture(self) -> "Picture":
        """The importance map as a gray picture (white: where the objective looked most)."""
        if self.importance is None:
            raise ImageInputError("this picture has no importance map (only rendered pictures have one)")
        return Picture(np.repeat(importance_pixels(self.importance)[..., None], 3, axis=2))

    def importance_summary(self) -> dict | None:
        """The map's share of mass in the central quarter of the picture (0.25 when even) and at
        the border (the outer eighth on each side)."""
        if self.importance is None:
            return None
        values = self.importance.astype(np.float64)
        total = values.sum() or 1.0
        h, w = values.shape
        centre = values[h // 4:h - h // 4, w // 4:w - w // 4].sum()
        inner = values[h // 8:h - h // 8, w // 8:w - w // 8].sum()
        return {"centre_share": float(centre / total), "border_share": float((total - inner) / total)}

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.to_pil().save(buf, format="PNG")
        return buf.getvalue()

    def __repr__(self) -> str:
        w, h = self.size
        return f"Picture({w}x{h}, {self.info})"


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


def labelled(picture: Picture, text: str, band: int = 14) -> Picture:
    """The picture under a black band with ``text`` written in it."""
    w, h = picture.size
    canvas = Image.new("RGB", (w, h + band))
    canvas.paste(picture.to_pil(), (0, band))
    ImageDraw.Draw(canvas).text((3, 1), text, fill=(255, 255, 255))
    return Picture(np.asarray(canvas).copy(), picture.info)


def row(pictures: Sequence[Picture], margin: int = 5) -> Picture:
    """Pictures side by side (tops aligned) on black, ``margin`` px apart."""
    if not pictures:
        raise ValueError("nothing to put in a row")
    h = max(p.size[1] for p in pictures)
    w = sum(p.size[0] for p in pictures) + margin * (len(pictures) - 1)
    sheet = np.zeros((h, w, 3), dtype=np.uint8)
    x = 0
    for pic in pictures:
        pw, ph = pic.size
        sheet[:ph, x:x + pw] = pic.pixels
        x += pw + margin
    return Picture(sheet)


def column(pictures: Sequence[Picture], margin: int = 5) -> Picture:
    """Pictures one under another (left edges aligned) on black, ``margin`` px apart."""
    return Picture(np.ascontiguousarray(row([Picture(np.ascontiguousarray(p.pixels.transpose(1, 0, 2)))
                                             for p in pictures], margin).pixels.transpose(1, 0, 2)))


def stitch(pictures: Sequence[Picture], margin: int = 5) -> Picture:
    """Pictures in row-major order on a square black sheet with ``margin`` px between tiles
    (their importance maps likewise, when every picture has one)."""
    if not pictures:
        raise ValueError("nothing to stitch")
    w, h = pictures[0].size
    n = sheet_side(len(pictures))
    sheet = np.zeros((n * h + (n - 1) * margin, n * w + (n - 1) * margin, 3), dtype=np.uint8)
    maps = np.zeros(sheet.shape[:2], dtype=np.float32) if all(p.importance is not None for p in pictures) else None
    for i, pic in enumerate(pictures):
        r, c = divmod(i, n)
        y, x = r * (h + margin), c * (w + margin)
        sheet[y:y + h, x:x + w] = pic.pixels
        if maps is not None:
            maps[y:y + h, x:x + w] = pic.importance
    result = Picture(sheet)
    result.importance = maps
    return result
