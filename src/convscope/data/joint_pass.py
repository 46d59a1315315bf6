"""Several passes in one: each batch of photos is read once and goes through one forward (to
the deepest layer any of them reads), and every pass keeps its own part of it. What each
keeps is what it would keep alone, so a job that needs several measures of a layer (its
statistics, the classes it drives, its circuits' photos, its labels' means) reads its photos
once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from convscope.data.photo_pass import BatchSeen, PhotoPass, run_pass, saved_kind
from convscope.data.photo_sources import PhotoSource
from convscope.errors import ImageInputError
from convscope.models.base import VisionModel
from convscope.runtime.progress import Progress


@saved_kind
@dataclass
class JointPart:
    """The parts of the passes, in their order."""

    parts: list[Any]

    def add(self, model: VisionModel, seen: BatchSeen) -> None:
        for part in self.parts:
            part.add(model, seen)

    def merge(self, later: "JointPart") -> None:
        for part, after in zip(self.parts, later.parts):
            part.merge(after)


@dataclass(frozen=True)
class JointPass:
    """The passes read together; their layers are read in one forward per batch."""

    passes: tuple[PhotoPass, ...]

    @property
    def layers(self) -> list[str]:
        return list(dict.fromkeys(name for one in self.passes for name in one.layers))

    def empty(self) -> JointPart:
        return JointPart([one.empty() for one in self.passes])


def run_passes(model: VisionModel, source: PhotoSource, passes: Mapping[str, PhotoPass], *, batch: int,
               progress: Progress | None = None) -> dict[str, Any]:
    """Every photo of ``source`` read once, through all ``passes`` (by the source's runner).

    Args:
        model: the network.
        source: the photos.
        passes: a name for each pass -> the pass.
        batch: photos per forward pass.
        progress: called with (photos done, photos in all).
    Returns:
        Each pass's name -> what it kept of every photo (its part).
    Raises:
        ImageInputError: no photo could be read.
    """
    state = run_pass(model, source, JointPass(tuple(passes.values())), batch=batch, progress=progress)
    if state.read == 0:
        shown = "; ".join(source.skipped[:2])
        raise ImageInputError(f"none of the {len(source)} photos could be read ({shown}): give a folder of PNG or "
                              "JPEG photos")
    return dict(zip(passes, state.part.parts))
