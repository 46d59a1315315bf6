"""What real photos show of a unit in the atlas: crops around its peaks, the classes a layer drives."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from convscope.data.atlas_record import ClassDrive
from convscope.data.joint_pass import run_passes
from convscope.data.photo_pass import BatchSeen
from convscope.data.photo_sources import PHOTO_BATCH, PhotoSource
from convscope.io.picture import Picture
from convscope.models.base import VisionModel

CROP_PX = 64
TOP_PHOTOS = 3
TOP_CLASSES = 5


def crop_around(prepared: torch.Tensor, position: tuple[int, int], map_size: tuple[int, int] | None) -> Picture:
    """The part of a prepared photo around a map position, CROP_PX square (the whole photo
    for a layer without positions)."""
    image = prepared[0].cpu()
    size = image.shape[-1]
    if map_size is None:
        box = image
    else:
        h, w = map_size
        stride = size / max(h, w)
        side = int(min(size, max(48, 4 * stride)))
        cy, cx = (position[0] + 0.5) * size / h, (position[1] + 0.5) * size / w
        top = int(min(max(cy - side / 2, 0), size - side))
        left = int(min(max(cx - side / 2, 0), size - side))
        box = image[:, top:top + side, left:left + side]
    small = F.interpolate(box[None], size=(CROP_PX, CROP_PX), mode="bilinear", antialias=True,
                          align_corners=False)[0]
    return Picture.from_tensor(small)


@dataclass
class ClassDrivePart:
    """The class drive of ``layer`` over some photos, summed (None before the first)."""

    layer: str
    total: torch.Tensor | None = None

    def add(self, model: VisionModel, seen: BatchSeen) -> None:
        with torch.enable_grad():
            part = _batch_drive(model, self.layer, seen.images)
        self.total = part if self.total is None else self.total + part

    def merge(self, later: "ClassDrivePart") -> None:
        if later.total is not None:
            self.total = later.total if self.total is None else self.total + later.total


@dataclass(frozen=True)
class ClassDrivePass:
    """The pass that sums the class drive of ``layer`` over the photos: per batch, its own
    forward and backward of the images the joint forward read."""

    layer: str

    @property
    def layers(self) -> list[str]:
        return [self.layer]

    def empty(self) -> ClassDrivePart:
        return ClassDrivePart(self.layer)


def class_drive(model: VisionModel, layer: str, photos: PhotoSource) -> torch.Tensor:
    """(classes, channels): how much each logit rises when a channel's whole map rises by one,
    summed over the photos (the gradient of the logits by a per-channel offset of the layer).

    Raises:
        ImageInputError: no photo could be read.
    """
    part = run_passes(model, photos, {"drive": ClassDrivePass(model.layer(layer).name)}, batch=PHOTO_BATCH)["drive"]
    assert part.total is not None  # a photo was read
    return part.total


def _batch_drive(model: VisionModel, layer: str, images: torch.Tensor) -> torch.Tensor:
    info = model.layer(layer)
    delta = torch.zeros(1, info.channels, 1, 1, device=model.device, requires_grad=True)

    def add_offset(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor:
        return output + info.layout.channel_view(delta.flatten())

    handle = info.module.register_forward_hook(add_offset)
    rows = []
    with model.math_mode():
        try:
            logits = model.logits(images).sum(dim=0)
        finally:
            handle.remove()
        for start in range(0, logits.shape[0], 100):
            eye = torch.eye(logits.shape[0], device=logits.device)[start:start + 100]
            (g,) = torch.autograd.grad(logits, delta, eye, retain_graph=True, is_grads_batched=True)
            rows.append(g.flatten(1).cpu())
    return torch.cat(rows)


def top_classes(model: VisionModel, drive: torch.Tensor, channel: int) -> list[ClassDrive]:
    """The classes unit ``channel`` drives most (see ``class_drive``), strongest first."""
    values, indices = drive[:, channel].topk(min(TOP_CLASSES, drive.shape[0]))
    return [ClassDrive(index=int(i), name=model.class_name(int(i)), drive=float(v)) for v, i in zip(values, indices)]
