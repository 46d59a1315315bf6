"""Photos to measure, by index: a folder of any size (streamed, decoded in worker processes,
unreadable files skipped and noted) or photos already in memory (the built-in set, or a
user's list). Batches are fixed by position (batch k holds photos k*B ... k*B+B-1), so any
run of batches can be read anywhere and give what one pass over all of them gives.

A source also says how its photo passes run (``runner``): in this process by default, or as
tasks on a cluster.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence, Union

import torch

from convscope.data.photo_stream import photo_batches, photo_files, read_tensor
from convscope.io.builtin_photos import Photo, builtin_photos
from convscope.io.photo_reading import as_photo
from convscope.models.base import VisionModel
from convscope.runtime.heap import reused_memory

PHOTO_BATCH = 32


@dataclass
class SourceBatch:
    """Batch ``number`` of a source: the indices of the photos read, their images in [0, 1] on
    the network's device, the photos skipped (index, reason), and those of them whose file does
    not exist where the batch was read."""

    number: int
    indices: torch.Tensor  # (n,) int64
    images: torch.Tensor  # (n, 3, S, S)
    skipped: list[tuple[int, str]]
    missing: list[int]


class PhotoSource:
    """Photos to measure, by index: their names, batches of them as the network sees them, one
    of them again, and the files that could not be read (known once the batches are done)."""

    names: list[str]
    skipped: list[str]
    runner: Any = None  # a photo_pass.ShardRunner, or None for this process

    def __len__(self) -> int:
        return len(self.names)

    def read(self, model: VisionModel, batch: int, first: int = 0, stop: int | None = None) -> Iterator[SourceBatch]:
        """Batches ``first`` ... ``stop`` - 1 (default: to the end) of ``batch`` photos, in order."""
        raise NotImplementedError

    def batches(self, model: VisionModel, batch: int = PHOTO_BATCH) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(indices, (n, 3, S, S) images in [0, 1] on the model's device) of every readable
        photo, in order of index; ``skipped`` holds the reasons of the others afterwards."""
        self.skipped = []
        for part in self.read(model, batch):
            self.skipped += [reason for _i, reason in part.skipped]
            if len(part.indices):
                yield part.indices, part.images

    def image(self, model: VisionModel, index: int) -> torch.Tensor:
        """Photo ``index`` as (1, 3, S, S), as its batch had it."""
        raise NotImplementedError

    def signature(self) -> str:
        """What identifies the photos, for an atlas's settings."""
        raise NotImplementedError


class PhotosInMemory(PhotoSource):
    """Photos already read (the built-in set, or a user's list): resized and centre-cropped by
    ``VisionModel.prepare``."""

    def __init__(self, photos: Sequence[Photo]) -> None:
        self.photos = list(photos)
        self.names = [p.name for p in self.photos]
        self.skipped = []

    def read(self, model: VisionModel, batch: int, first: int = 0, stop: int | None = None) -> Iterator[SourceBatch]:
        last = len(self.photos) if stop is None else min(len(self.photos), stop * batch)
        for number, start in enumerate(range(first * batch, last, batch), start=first):
            indices = torch.arange(start, min(start + batch, last))
            yield SourceBatch(number, indices, torch.cat([self.image(model, int(i)) for i in indices]), [], [])

    def image(self, model: VisionModel, index: int) -> torch.Tensor:
        return model.prepare(self.photos[index].pixels)

    def signature(self) -> str:
        digest = hashlib.sha256()
        for photo in self.photos:
            digest.update(photo.name.encode())
            digest.update(photo.pixels.tobytes())
        return digest.hexdigest()[:16]


class PhotoFolder(PhotoSource):
    """Every photo under a folder, subfolders included, streamed: decoded and resized in
    ``workers`` processes (see ``photo_stream``); unreadable files are skipped and noted."""

    def __init__(self, folder: str | Path, workers: int = 2, names: Sequence[str] | None = None,
                 runner: Any = None) -> None:
        """``names``: the photos, relative to ``folder``, as an earlier pass listed them (default:
        every photo under it now). ``runner``: how its photo passes run (a
        ``photo_pass.ShardRunner``; default: in this process)."""
        self.root = Path(folder)
        self.files = photo_files(self.root) if names is None else [self.root / name for name in names]
        self.names = [p.relative_to(self.root).as_posix() for p in self.files]
        self.workers = workers
        self.skipped = []
        self.runner = runner

    def read(self, model: VisionModel, batch: int, first: int = 0, stop: int | None = None) -> Iterator[SourceBatch]:
        with reused_memory(model.device):
            for part in photo_batches(self.files, model.input_size, batch, self.workers, first, stop):
                yield SourceBatch(part.number, part.indices, part.images(model.device), part.skipped, part.missing)

    def image(self, model: VisionModel, index: int) -> torch.Tensor:
        return read_tensor(self.files[index], model.input_size)[None].to(model.device)

    def signature(self) -> str:
        digest = hashlib.sha256()
        for path, name in zip(self.files, self.names):
            stat = path.stat()
            digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:16]


def as_folder(photos: "PhotoFolder | str | Path") -> PhotoFolder:
    """A folder as a pass reads it: given as a ``PhotoFolder`` (its workers, its runner), or as a
    path, read here in two worker processes."""
    return photos if isinstance(photos, PhotoFolder) else PhotoFolder(photos)


def photo_source(folder: str | Path | None, workers: int = 2, runner: Any = None) -> PhotoSource:
    """The user's folder (of any size) when given, else the built-in photos. ``runner``: how
    the folder's photo passes run (default: in this process)."""
    return PhotoFolder(folder, workers, runner=runner) if folder is not None else PhotosInMemory(builtin_photos())


PhotosLike = Union[PhotoSource, str, Path, Sequence[object], None]
"""Photos as a user has them: a folder (of any size, streamed), a list of photos (paths,
arrays, PIL images, Pictures or ``Photo``), a ``PhotoSource``, or None for the built-in set."""


def as_source(photos: PhotosLike) -> PhotoSource:
    """A PhotoSource from any of the forms of ``PhotosLike``.

    Raises:
        ImageInputError: a missing folder, a folder with no photos, or a photo that cannot be read.
    """
    if isinstance(photos, PhotoSource):
        return photos
    if photos is None:
        return PhotosInMemory(builtin_photos())
    if isinstance(photos, (str, Path)):
        return PhotoFolder(photos)
    listed = [p if isinstance(p, Photo) else
              Photo(Path(p).name if isinstance(p, (str, Path)) else f"photo {i}", as_photo(p))
              for i, p in enumerate(photos)]
    return PhotosInMemory(listed)
