"""Files written whole or not at all, with the mode the umask gives: images, JSON, checks
of output paths before any work starts."""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from convscope.errors import ImageInputError

IMAGE_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


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

    The file gets the mode a plain ``open(path, "w")`` would give it under the umask, whichever
    writer made it (``mkstemp`` alone would leave it private to the user, and writers such as
    safetensors' replace the file with one of their own mode)."""
    path = Path(path)
    check_output_folder(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~current_umask())
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
        raise ImageInputError(f"{Path(path).name}: JPEG has no alpha channel; write a .png with {{alpha}}", options=["alpha"])


def image_format(path: str | Path) -> str:
    """The Pillow format for an output path, from its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ImageInputError(f"cannot write {path}: use a .png, .jpg or .jpeg file name")
    return IMAGE_SUFFIXES[suffix]
