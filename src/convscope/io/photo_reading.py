"""Reading photos: files of any common format, EXIF orientation, 16-bit and huge files;
and photos in the forms users have them (paths, arrays, PIL images, Pictures)."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from convscope.errors import ImageInputError
from convscope.io.picture import Picture

HIGH_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


MAX_DECODED_SIDE = 8192  # a larger JPEG is decoded at a reduced scale


def open_image(path: Path) -> Image.Image:
    """The image, opened lazily. A JPEG larger than Pillow's decompression-bomb limit is opened
    anyway (it can be decoded at a reduced scale, see ``Image.draft``); any other format that
    large is refused with a message."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(path)
        except Image.DecompressionBombError:
            limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                img = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = limit
    if img.format != "JPEG":
        w, h = img.size
        img.close()
        raise ImageInputError(f"{path}: {w}x{h} px is too large to decode whole; save it as a JPEG (read at a "
                              "reduced scale) or smaller")
    return img


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
        with open_image(path) as img:
            w, h = img.size
            if max(w, h) > MAX_DECODED_SIDE:
                img.draft("RGB", (w * MAX_DECODED_SIDE // max(w, h), h * MAX_DECODED_SIDE // max(w, h)))
                if img.size != (w, h):
                    notes.append(f"{path.name}: {w}x{h} px, decoded at {img.size[0]}x{img.size[1]}")
            img = ImageOps.exif_transpose(img)
            if "A" in img.getbands() or img.info.get("transparency") is not None:
                notes.append(f"{path.name}: alpha channel dropped")
            rgb = to_rgb8(img, path)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        if isinstance(e, ImageInputError):
            raise
        raise ImageInputError(f"cannot read {path} as an image ({type(e).__name__}): "
                              "use a PNG or JPEG file") from e
    return rgb, notes


def to_rgb8(img: Image.Image, path: Path) -> np.ndarray:
    """8-bit RGB pixels of any Pillow image; 16-bit and 32-bit gray are scaled, not clipped."""
    if img.mode in HIGH_DEPTH_MODES:
        values = np.asarray(img).astype(np.float64)
        if img.mode == "F":
            top = 1.0 if values.max(initial=0) <= 1.0 else 65535.0
        else:
            top = 65535.0 if img.mode.startswith("I;16") or values.max(initial=0) <= 65535 else 2.0 ** 32 - 1
        if values.min(initial=0) < 0:
            raise ImageInputError(f"{path} holds negative pixel values (mode {img.mode}): "
                                  "save it as an 8- or 16-bit PNG")
        gray = np.clip(np.round(values / top * 255), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    return np.asarray(img.convert("RGB"))


def as_photo(photo: object) -> np.ndarray:
    """An (H, W, 3) uint8 array from what a user naturally has: a path, a Picture, a PIL
    image, or an array (H, W) or (H, W, 3|4) of uint8, uint16, or floats in [0, 1]."""
    if isinstance(photo, (str, Path)):
        return load_photo(photo)[0]
    if isinstance(photo, Picture):
        return photo.pixels
    if isinstance(photo, Image.Image):
        return to_rgb8(ImageOps.exif_transpose(photo), Path("the PIL image"))
    if isinstance(photo, torch.Tensor):
        raise ImageInputError("give the photo as a NumPy array (H, W, 3), a path, a PIL image or a Picture, "
                              "not a tensor: use tensor.permute(1, 2, 0).numpy() for a (3, H, W) tensor")
    array = np.asarray(photo)
    if array.ndim == 2:
        array = array[..., None].repeat(3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or min(array.shape[:2]) < 1:
        raise ImageInputError(f"a photo array must be (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    array = array[..., :3]
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype == np.uint16:
        return np.round(array / 257.0).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
        if np.isnan(array).any() or low < 0 or high > 1:
            raise ImageInputError(f"a float photo array must hold values in [0, 1], got {low:.3g}..{high:.3g}: "
                                  "divide 0..255 values by 255, or pass a uint8 array")
        return np.round(array * 255).astype(np.uint8)
    raise ImageInputError(f"a photo array must be uint8, uint16 or float in [0, 1], got {array.dtype}")


PHOTO_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def readable_photos(photos: Sequence[object], skipped: list[str]) -> Iterator[tuple[str, np.ndarray]]:
    """Each photo that can be read, as (name, pixels), one at a time; the message of each one that
    cannot is appended to ``skipped``.

    Args:
        photos: paths, arrays, PIL images or Pictures (see ``as_photo``).
        skipped: where the messages of unreadable photos go.
    Returns:
        An iterator of (name, (H, W, 3) uint8 pixels): a path's own name, else "photo i".
    """
    for i, item in enumerate(photos):
        try:
            yield (str(item) if isinstance(item, (str, Path)) else f"photo {i}"), as_photo(item)
        except ImageInputError as e:
            skipped.append(str(e))
