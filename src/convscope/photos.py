"""Real photos: the set that ships with the dependencies, or a folder of the user's own."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from convscope.errors import ImageInputError
from convscope.images import load_photo

PHOTO_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


@dataclass
class Photo:
    name: str
    pixels: np.ndarray  # (H, W, 3) uint8


PIP_NAMES = {"skimage": "scikit-image", "sklearn": "scikit-learn"}


def _packaged(package: str, relative: str):
    """A photo file inside an installed package, read without importing the package (the
    scikit-learn import alone takes a second); the same pixels as its own loader gives."""
    def load() -> np.ndarray:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ImageInputError(f"the built-in photos come with {PIP_NAMES[package]}: "
                                  f"pip install {PIP_NAMES[package]}")
        with Image.open(Path(spec.submodule_search_locations[0]) / relative) as image:
            return np.asarray(image.convert("RGB"))
    return load


BUILTIN = {
    "chelsea": _packaged("skimage", "data/chelsea.png"), "coffee": _packaged("skimage", "data/coffee.png"),
    "astronaut": _packaged("skimage", "data/astronaut.png"), "rocket": _packaged("skimage", "data/rocket.jpg"),
    "china": _packaged("sklearn", "datasets/images/china.jpg"),
    "flower": _packaged("sklearn", "datasets/images/flower.jpg"),
}


def builtin_photos() -> list[Photo]:
    """Six real photos from scikit-image and scikit-learn, available offline."""
    return [Photo(name, load()) for name, load in BUILTIN.items()]


def builtin_photo(name: str = "chelsea") -> Photo:
    """One photo of the built-in set, by name (only that one is read)."""
    from convscope.errors import unknown

    if name not in BUILTIN:
        raise unknown("built-in photo", name, BUILTIN)
    return Photo(name, BUILTIN[name]())


def folder_photos(folder: str | Path) -> tuple[list[Photo], list[str]]:
    """Every readable photo in ``folder`` (sorted by name), and a note per unreadable one."""
    folder = Path(folder)
    if folder.is_file():
        raise ImageInputError(f"{folder} is a file: --photos takes a folder of photos (PNG or JPEG)")
    if not folder.is_dir():
        raise ImageInputError(f"photo folder not found: {folder}")
    photos, skipped = [], []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in PHOTO_SUFFIXES:
            continue
        try:
            pixels, _notes = load_photo(path)
        except ImageInputError as e:
            skipped.append(str(e))
            continue
        photos.append(Photo(path.name, pixels))
    if not photos:
        raise ImageInputError(f"no readable photos in {folder} (PNG or JPEG files)")
    return photos, skipped


def photo_set(folder: str | Path | None) -> tuple[list[Photo], list[str]]:
    """The user's folder when given, else the built-in set; with notes on skipped files."""
    if folder is None:
        return builtin_photos(), []
    return folder_photos(folder)
