"""Shared fixtures: the real embedded network and real photos."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import convscope
from convscope.photos import builtin_photo


@pytest.fixture(scope="session")
def model():
    return convscope.load("efficientnet-lite0")


@pytest.fixture(scope="session")
def photo_files(tmp_path_factory) -> dict[str, Path]:
    """The chelsea and coffee photos written as JPEG and PNG files."""
    folder = tmp_path_factory.mktemp("photos")
    files = {}
    for name, suffix in (("chelsea", ".jpg"), ("coffee", ".png")):
        path = folder / f"{name}{suffix}"
        Image.fromarray(np.asarray(builtin_photo(name).pixels)).save(path)
        files[name] = path
    return files
