"""Shared fixtures: the real embedded network and real photos."""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import convscope
from convscope.io.builtin_photos import builtin_photo, builtin_photos

MARK = "CONVSCOPE_TEST_RUN"


def pytest_configure(config):
    """Marks this run's processes (every process it starts inherits the mark) and starts the
    reaper, which stops them, and removes the run's Ray folders, once the run is over however
    it ended (see reaper.py)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    run = f"{os.getpid()}x{secrets.token_hex(2)}"
    os.environ[MARK] = run
    unmarked = {key: value for key, value in os.environ.items() if key != MARK}
    subprocess.Popen([sys.executable, str(Path(__file__).with_name("reaper.py")), str(os.getpid()), run], env=unmarked,
                     start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Refuses a two-process run whose pytest-xdist does not keep a group on one worker (it
    did not under pytest 9): the Ray tests must run one at a time."""
    if getattr(config.option, "loadgroup", False):
        loose = [item.nodeid for item in items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
        if loose:
            raise pytest.UsageError(f"pytest-xdist did not group {loose[0]}: install the test extra's pytest (pytest<9)")


if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs the suite in two processes on two cores: one thread each, for this
    # process and the commands it starts
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def model():
    return convscope.load("efficientnet-lite0")


@pytest.fixture(scope="session")
def vgg16_arrays():
    """Random VGG16 weights (seed 0), made once per process: 138 million numbers."""
    from vgg_files import random_arrays

    return random_arrays(seed=0)


@pytest.fixture(scope="session")
def vgg16_pth(vgg16_arrays, tmp_path_factory) -> Path:
    """``vgg16_arrays`` as a torchvision checkpoint (528 MB), written once per process."""
    from vgg_files import write_torchvision

    path = tmp_path_factory.mktemp("vgg16") / "vgg16-397923af.pth"
    write_torchvision(path, vgg16_arrays)
    return path


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
