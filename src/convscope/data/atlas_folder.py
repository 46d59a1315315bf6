"""Reading a finished atlas folder: where each unit's files are, and its pictures."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Sequence

import torch.nn.functional as F

from convscope.errors import ConvscopeError
from convscope.io.photo_reading import load_photo
from convscope.io.picture import Picture

THUMB_PX = 64  # the side of a unit's thumbnail


class AtlasFolderError(ConvscopeError):
    """An output folder that cannot hold this atlas."""


def safe_name(name: str) -> str:
    """A file-name-safe, collision-free form of a layer name."""
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    if clean != name or clean.startswith(".") or not clean:
        clean = f"{clean.lstrip('.') or 'layer'}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    return clean


def unit_stem(channel: int) -> str:
    return f"{channel:04d}"


def thumbnail(picture: Picture) -> Picture:
    """A unit's picture as its thumbnail in an atlas (``NNNN.thumb.png``): THUMB_PX square."""
    small = F.interpolate(picture.to_tensor()[None], size=(THUMB_PX, THUMB_PX), mode="bilinear",
                          antialias=True, align_corners=False)[0]
    return Picture.from_tensor(small)


def atlas_pictures(atlas: str | Path, layer: str, units: Sequence[int]) -> dict[int, Picture]:
    """The pictures of ``units`` of ``layer`` in an atlas folder; an error names the missing ones."""
    folder = Path(atlas) / "units" / safe_name(layer)
    missing = [u for u in units if not (folder / f"{unit_stem(u)}.png").is_file()]
    if missing:
        raise AtlasFolderError(f"the atlas in {atlas} has no pictures of {layer} units {missing[:5]}: build it "
                               f"with {{layers}} {layer}, or leave out {{atlas}} to render them now", options=["atlas", "layers"])
    return {u: Picture(load_photo(folder / f"{unit_stem(u)}.png")[0]) for u in units}
