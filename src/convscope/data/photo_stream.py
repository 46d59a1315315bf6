"""Photo folders of any size as a stream of batches: files found in nested folders, decoded
and resized in DataLoader worker processes, unreadable files reported and skipped.

Batches are fixed by position (batch k holds files k*B ... k*B+B-1), so a job that stops
can start again at any batch and see exactly what it would have seen.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from convscope.errors import ImageInputError
from convscope.io.photo_reading import PHOTO_SUFFIXES, open_image, to_rgb8

MIN_SIDE = 8  # smaller photos are skipped with a note: no network sees anything in them


def photo_files(folder: str | Path) -> list[Path]:
    """Every file with a photo suffix under ``folder`` and its subfolders, in a fixed order
    (by path relative to the folder)."""
    root = Path(folder)
    if root.is_file():
        raise ImageInputError(f"{root} is a file: {{photos}} takes a folder of photos (PNG or JPEG, in subfolders too)",
                              options=["photos"])
    if not root.is_dir():
        raise ImageInputError(f"photo folder not found: {root}")
    files = sorted((p for p in root.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file()),
                   key=lambda p: p.relative_to(root).as_posix())
    if not files:
        raise ImageInputError(f"no photos in {root} or its subfolders (PNG, JPEG, ... files)")
    return files


def read_square(path: Path, size: int) -> np.ndarray:
    """(size, size, 3) uint8: the photo's short side resized to ``size``, centre square. JPEGs
    are decoded at a reduced scale where that still gives ``size`` (fast, and bounded memory
    for very large photos)."""
    try:
        with open_image(path) as img:
            img.draft("RGB", (size, size))  # JPEG only: decode at 1/2, 1/4 or 1/8 scale when large
            img = ImageOps.exif_transpose(img)
            w, h = img.size
            if min(w, h) < MIN_SIDE:
                raise ImageInputError(f"{path}: {w}x{h} px is too small (at least {MIN_SIDE} px a side)")
            scale = size / min(w, h)
            image = Image.fromarray(to_rgb8(img, path))
            rgb = np.asarray(image.resize((max(size, round(w * scale)), max(size, round(h * scale))),
                                          Image.Resampling.BILINEAR, reducing_gap=3.0))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        if isinstance(e, ImageInputError):
            raise
        raise ImageInputError(f"cannot read {path} as an image ({type(e).__name__})") from e
    h, w = rgb.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return np.array(rgb[top:top + size, left:left + size])  # a writable copy


def read_tensor(path: Path, size: int) -> torch.Tensor:
    """(3, size, size) float in [0, 1]: ``read_square`` as a tensor."""
    return torch.from_numpy(read_square(path, size)).permute(2, 0, 1).float().div(255)


def files_signature(files: Sequence[Path], root: Path) -> str:
    """What identifies a folder's file list (its paths relative to ``root``), for a job's settings."""
    return hashlib.sha256("\n".join(p.relative_to(root).as_posix() for p in files).encode()).hexdigest()[:16]


def nothing_readable(count: int, root: Path, shown: list[str]) -> ImageInputError:
    """The error for a folder whose ``count`` files are all unreadable (``shown``: a few of them)."""
    return ImageInputError(f"none of the {count} files in {root} could be read as a photo ({', '.join(shown[:3])}"
                           f"{', ...' if count > 3 else ''}): give a folder of PNG or JPEG photos")


class PhotoFiles(torch.utils.data.Dataset):
    """Item i: (i, (3, S, S) uint8 tensor, None, False), or (i, None, the reason, whether the file
    is missing) for a file that cannot be read."""

    def __init__(self, files: list[Path], size: int) -> None:
        self.files, self.size = files, size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor | None, str | None, bool]:
        try:
            return i, torch.from_numpy(read_square(self.files[i], self.size)).permute(2, 0, 1), None, False
        except ImageInputError as e:
            return i, None, str(e), not self.files[i].exists()


@dataclass
class PhotoBatch:
    """One batch: the indices of the photos read, their pixels, the files skipped (with the
    reason), and those of them that do not exist where the batch was read."""

    number: int
    indices: torch.Tensor  # (n,) int64, into the file list
    pixels: torch.Tensor  # (n, 3, S, S) uint8
    skipped: list[tuple[int, str]]
    missing: list[int]

    def images(self, device: torch.device) -> torch.Tensor:
        """(n, 3, S, S) float in [0, 1] on ``device``."""
        return self.pixels.to(device).float().div_(255)


def _collate(items: list[tuple[int, torch.Tensor | None, str | None, bool]]) -> tuple:
    good = [(i, t) for i, t, _r, _m in items if t is not None]
    skipped = [(i, reason) for i, _t, reason, _m in items if reason is not None]
    missing = [i for i, _t, _r, gone in items if gone]
    indices = torch.tensor([i for i, _ in good], dtype=torch.long)
    pixels = torch.stack([t for _, t in good]) if good else torch.empty(0, 3, 0, 0, dtype=torch.uint8)
    return indices, pixels, skipped, missing


def photo_batches(files: list[Path], size: int, batch: int, workers: int, first: int = 0,
                  stop: int | None = None) -> Iterator[PhotoBatch]:
    """Batches ``first``, ``first`` + 1, ... (up to ``stop``, excluded; default: to the end) of
    the files, decoded by ``workers`` processes (0: in this one), in order."""
    last = len(files) if stop is None else min(len(files), stop * batch)
    subset = torch.utils.data.Subset(PhotoFiles(files, size), range(first * batch, last))
    loader = torch.utils.data.DataLoader(subset, batch_size=batch, shuffle=False, num_workers=workers,
                                         collate_fn=_collate, persistent_workers=False,
                                         prefetch_factor=2 if workers > 0 else None)
    for number, (indices, pixels, skipped, missing) in enumerate(loader, start=first):
        yield PhotoBatch(number, indices, pixels, skipped, missing)
