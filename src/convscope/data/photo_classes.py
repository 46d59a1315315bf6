"""The classes of a folder's photos, as the folder gives them: each photo's subfolder (the
ImageNet layout, ``train/n01440764/...``), or else a WordNet synset at the start of each file
name (``n01440764_tench.JPEG``)."""
from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Sequence

SYNSET_NAME = re.compile(r"^(n\d{8})(?=[_.\-\s]|$)")


def folder_classes(names: Sequence[str]) -> list[str] | None:
    """Each photo's class from its path relative to the folder, or None when the folder does
    not give classes.

    Args:
        names: the photos' paths relative to the folder (``a/b.jpg``).
    Returns:
        Each photo's class: its subfolder's name when every photo is in a subfolder and there
        are at least two; else the synset its file name starts with, when every name starts
        with one; else None.
    """
    parents = [PurePosixPath(name).parent.name for name in names]
    if parents and all(parents) and len(set(parents)) >= 2:
        return parents
    synsets = [SYNSET_NAME.match(PurePosixPath(name).name) for name in names]
    if synsets and all(synsets):
        return [match.group(1) for match in synsets if match is not None]
    return None
