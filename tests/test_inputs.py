"""Photos in (EXIF orientation, alpha), photo-initialized images, and optional imports."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from convscope.engine.param import ParamStyle, image_param
from convscope.io.photo_reading import load_photo

pytestmark = pytest.mark.fast  # `make check` runs this file


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = 255  # left half white
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "turned.jpg"
    image.save(path, exif=exif.tobytes(), quality=95)
    loaded, notes = load_photo(path)
    assert loaded.shape == (40, 20, 3) and notes == []
    assert loaded[:20].mean() > 200 and loaded[20:].mean() < 50  # the white half is now on top


def test_alpha_is_dropped_with_a_note(tmp_path):
    path = tmp_path / "rgba.png"
    Image.fromarray(np.full((8, 8, 4), 128, np.uint8)).save(path)
    loaded, notes = load_photo(path)
    assert loaded.shape == (8, 8, 3) and notes and "alpha" in notes[0]


@pytest.mark.parametrize("kind, decorrelated, sigmoid", [("pixel", True, True), ("spectral", True, True),
                                                         ("spectral", False, False), ("pixel", False, True)])
def test_photo_initialized_images_start_as_the_photo(kind, decorrelated, sigmoid):
    photo = torch.rand(2, 3, 24, 30, generator=torch.Generator().manual_seed(0)) * 0.9 + 0.05
    param = image_param(kind, [0, 1], (24, 30), style=ParamStyle(decorrelated, sigmoid), init=photo)
    torch.testing.assert_close(param(), photo, atol=1e-4, rtol=0)


def test_the_single_machine_atlas_never_imports_ray(tmp_path):
    code = ("import sys, convscope\nfrom convscope.cli import main\n"
            f"assert main(['atlas', '--out', {str(tmp_path / 'a')!r}, '--layers', 'block0', '--steps', '1', "
            "'--size', '32', '--batch', '16']) == 0\nassert 'ray' not in sys.modules, 'ray was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
