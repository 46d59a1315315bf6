"""What real photos make units do, in one streaming pass: the photos (a folder of any size,
read in DataLoader workers, or the built-in set in memory) go through the network in
batches, one forward per batch for every layer asked for, and each unit keeps only its
best photos (by peak, with where the peak is, and by mean), its running mean and its
highest peak, on the layer as read and after its activation function. `stats`, `grid`,
the atlas and `twins` all read photos through here.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence, Union

import torch

from convscope.data.photo_stream import photo_batches, photo_files, read_tensor
from convscope.data.unit_exemplars import LayerExemplars
from convscope.errors import ImageInputError
from convscope.io.builtin_photos import Photo, builtin_photos
from convscope.io.photo_reading import as_photo
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
from convscope.runtime.heap import reused_memory
from convscope.runtime.progress import Progress

PHOTO_BATCH = 32


class PhotoSource:
    """Photos to measure, by index: their names, batches of them as the network sees them, one
    of them again, and the files that could not be read (known once the batches are done)."""

    names: list[str]
    skipped: list[str]

    def __len__(self) -> int:
        return len(self.names)

    def batches(self, model: VisionModel, batch: int = PHOTO_BATCH) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(indices, (n, 3, S, S) images in [0, 1] on the model's device), in order of index."""
        raise NotImplementedError

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

    def batches(self, model: VisionModel, batch: int = PHOTO_BATCH) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for start in range(0, len(self.photos), batch):
            indices = torch.arange(start, min(start + batch, len(self.photos)))
            yield indices, torch.cat([self.image(model, int(i)) for i in indices])

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

    def __init__(self, folder: str | Path, workers: int = 2, names: Sequence[str] | None = None) -> None:
        """``names``: the photos, relative to ``folder``, as an earlier pass listed them (default:
        every photo under it now)."""
        self.root = Path(folder)
        self.files = photo_files(self.root) if names is None else [self.root / name for name in names]
        self.names = [p.relative_to(self.root).as_posix() for p in self.files]
        self.workers = workers
        self.skipped = []

    def batches(self, model: VisionModel, batch: int = PHOTO_BATCH) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        self.skipped = []
        with reused_memory(model.device):
            for part in photo_batches(self.files, model.input_size, batch, self.workers):
                self.skipped += [reason for _i, reason in part.skipped]
                if len(part.indices):
                    yield part.indices, part.images(model.device)

    def image(self, model: VisionModel, index: int) -> torch.Tensor:
        return read_tensor(self.files[index], model.input_size)[None].to(model.device)

    def signature(self) -> str:
        digest = hashlib.sha256()
        for path, name in zip(self.files, self.names):
            stat = path.stat()
            digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:16]


def photo_source(folder: str | Path | None, workers: int = 2) -> PhotoSource:
    """The user's folder (of any size) when given, else the built-in photos."""
    return PhotoFolder(folder, workers) if folder is not None else PhotosInMemory(builtin_photos())


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


@dataclass
class PhotoStats:
    """A layer's best photos per unit (``top`` of them), as read and after the layer's
    activation function (None when it has none), with the photos' names; with ``low``, also
    each unit's lowest photos by mean (``low``), and the photos that could be read."""

    read: LayerExemplars
    after: LayerExemplars | None
    names: list[str]
    map_size: tuple[int, int] | None
    low: LayerExemplars | None = None
    readable: list[int] = field(default_factory=list)

    def best(self, peak: bool = False, after: bool = False) -> torch.Tensor:
        """(C,): the highest peak (or mean) each unit reaches on any photo."""
        stats = self.after if after and self.after is not None else self.read
        return (stats.peak_values if peak else stats.mean_values)[:, 0]

    def best_photo(self, unit: int, peak: bool = False) -> str:
        """The name of the photo with the unit's highest peak (or mean)."""
        photos = self.read.peak_photos if peak else self.read.mean_photos
        return self.names[int(photos[unit, 0])]

    def top_by_mean(self, unit: int) -> list[tuple[int, float]]:
        """The unit's best photos by mean, best first: (photo index, mean)."""
        return [(int(i), float(v)) for i, v in zip(self.read.mean_photos[unit], self.read.mean_values[unit]) if i >= 0]

    def bottom_by_mean(self, unit: int) -> list[tuple[int, float]]:
        """The unit's lowest photos by mean, lowest first: (photo index, mean); empty without ``low``."""
        if self.low is None:
            return []
        return [(int(i), -float(v)) for i, v in zip(self.low.mean_photos[unit], self.low.mean_values[unit]) if i >= 0]


def photo_statistics(model: VisionModel, layers: Sequence[str], photos: PhotosLike = None,
                     *, top: int = 1, low: int = 0, batch: int = PHOTO_BATCH, progress: Progress | None = None
                     ) -> dict[str, PhotoStats]:
    """Per layer, the ``top`` photos of every unit (and with ``low``, its ``low`` lowest by
    mean), in one pass over ``photos`` (the built-in set when None): one forward per batch
    for all ``layers``, stopped after the deepest."""
    source = as_source(photos)
    names = [model.layer(name).name for name in layers]
    read = {n: LayerExemplars.empty(model.layer(n).channels, top) for n in names}
    after = {n: LayerExemplars.empty(model.layer(n).channels, top) for n in names if model.layer(n).after}
    lowest = {n: LayerExemplars.empty(model.layer(n).channels, low) for n in names} if low > 0 else {}
    done = 0
    readable: list[int] = []
    with torch.no_grad(), Probe(model, names) as probe:
        for indices, images in source.batches(model, batch):
            acts = probe(images)
            for name in names:
                read[name].update(indices, acts[name])
                if name in after:
                    after[name].update(indices, model.layer(name).as_used(acts[name]))
                if name in lowest:  # the highest of the negated means are the lowest means
                    lowest[name].update(indices, -acts[name])
            readable += indices.tolist()
            done += len(indices)
            if progress is not None:
                progress(done, len(source))
    if done == 0:
        shown = "; ".join(source.skipped[:2])
        raise ImageInputError(f"none of the {len(source)} photos could be read ({shown}): give a folder of PNG or "
                              "JPEG photos")
    return {n: PhotoStats(read[n], after.get(n), source.names, read[n].map_size, lowest.get(n), readable)
            for n in names}
