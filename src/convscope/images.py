"""Pictures in and out: reading photos, atomic writing, picture objects, grid sheets."""
from __future__ import annotations

import io
import json
import math
import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from convscope.errors import ImageInputError

IMAGE_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
HIGH_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_output_folder(path: str | Path) -> None:
    """Fails at once, with a clear message, when ``path`` cannot be created: a part of its
    folder is a file, or the folder cannot be written."""
    path = Path(path)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    for part in [*reversed(path.parents)]:
        if part.exists() and not part.is_dir():
            raise ImageInputError(f"cannot write {path}: {part} is a file, not a folder")
    if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise ImageInputError(f"cannot write {path}: no permission to write in {folder}")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; renames it onto ``path`` only on success.

    The file gets the mode a plain ``open(path, "w")`` would give it under the umask
    (``mkstemp`` alone would leave it private to the user)."""
    path = Path(path)
    check_output_folder(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.fchmod(fd, 0o666 & ~current_umask())
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


def check_alpha_format(path: str | Path) -> None:
    """An importance map as alpha needs a format with alpha: PNG."""
    if image_format(path) != "PNG":
        raise ImageInputError(f"{Path(path).name}: JPEG has no alpha channel; write a .png with --alpha")


def importance_pixels(values: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1] to 8-bit."""
    return np.round(np.clip(values, 0, 1) * 255).astype(np.uint8)


def image_format(path: str | Path) -> str:
    """The Pillow format for an output path, from its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ImageInputError(f"cannot write {path}: use a .png, .jpg or .jpeg file name")
    return IMAGE_SUFFIXES[suffix]


class Picture:
    """An RGB picture (H, W, 3 uint8) that saves itself, converts with numpy.asarray,
    and shows itself in Jupyter. ``info`` holds its numbers (JSON-ready); ``extras`` related
    pictures (a first-layer unit's "kernel", the picture at chosen steps: "step 32", ...)."""

    def __init__(self, pixels: np.ndarray, info: dict | None = None) -> None:
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ValueError("a Picture holds an (H, W, 3) uint8 array")
        self.pixels = pixels
        self.info = dict(info or {})
        self.extras: dict[str, Picture] = {}
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
            if alpha:
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
