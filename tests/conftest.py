"""Shared fixtures: the real embedded network and real photos."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import convscope
from convscope.io.builtin_photos import builtin_photo, builtin_photos


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


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory):
    """12 photos in a folder and a subfolder: the built-in ones, and mirrored crops of them."""
    root = tmp_path_factory.mktemp("atlas-photos")
    (root / "sub").mkdir()
    for photo in builtin_photos():
        image = Image.fromarray(photo.pixels)
        image.save(root / f"{photo.name}.jpg")
        w, h = image.size
        image.transpose(Image.FLIP_LEFT_RIGHT).crop((0, 0, w * 3 // 4, h * 3 // 4)).save(root / "sub" / f"{photo.name}.png")
    return root


@pytest.fixture
def chromium():
    """A headless Chromium driven by selenium (Debian's chromium and chromium-driver, which
    `make test` installs where it can); the test is skipped without them."""
    browser, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver_path):
        pytest.skip("Debian's chromium and chromium-driver are not installed (make test installs them where it can)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1100,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
