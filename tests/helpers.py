"""What many tests share: the command line run as a user runs it, the check of a one-line
error, and a folder of distinct real photos."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SKIMAGE = ("astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "clock_motion.png", "coffee.png",
           "coins.png", "grass.png", "gravel.png", "hubble_deep_field.jpg", "ihc.png", "microaneurysms.png",
           "moon.png", "motorcycle_left.png", "page.png", "retina.jpg", "rocket.jpg", "text.png", "color.png")
LONGEST = 480


def cli(*args: str, env: dict | None = None, cwd: Path | None = ROOT, umask: int | None = None,
        timeout: float | None = None) -> subprocess.CompletedProcess:
    """``convscope ARGS`` in a new process, from the repository's root (so a file such as
    ``tests/trust_nets.py:small_model`` resolves), under ``umask`` if given."""
    return subprocess.run([sys.executable, "-m", "convscope", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None, timeout=timeout)


def assert_one_line_error(run: subprocess.CompletedProcess, words: str) -> None:
    """The command failed with exit status 2 and one line on stderr that holds ``words``."""
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert words in lines[0], lines[0]


def refused(capsys, *argv: str, match: str) -> str:
    """``convscope ARGV`` in this process (``capsys`` captures it) failed with exit status 2
    and one line on stderr that holds ``match``; returns that line."""
    from convscope.cli import main

    code = main(list(argv))
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err and match in lines[0], err
    return lines[0]


def distinct_photos(folder: Path) -> Path:
    """Every photo that ships with scikit-image and scikit-learn, once (22 photos), as JPEG at
    most LONGEST px on the longer side."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    folder.mkdir(parents=True, exist_ok=True)
    images = {name.split(".")[0]: Image.open(Path(skimage.data.__file__).parent / name) for name in SKIMAGE}
    for name, pixels in zip(("china", "flower"), load_sample_images().images):
        images[name] = Image.fromarray(pixels)
    for name, image in images.items():
        image = image.convert("RGB")
        image.thumbnail((LONGEST, LONGEST))
        image.save(folder / f"{name}.jpg", quality=92)
    return folder


def free_port() -> int:
    """A port no one listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
