"""Real photos: the set that ships with the dependencies, or a folder of the user's own."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from convscope.errors import ImageInputError


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


