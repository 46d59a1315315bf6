"""What real photos make each unit do: mean and peak activations, crops, classes driven."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F

from ..classify import prepare
from ..images import Picture
from ..models.base import LOGITS, VisionModel
from ..photos import Photo
from ..probe import Probe

CROP_PX = 64
TOP_PHOTOS = 3
TOP_CLASSES = 5


@dataclass
class LayerPhotoStats:
    """Per photo and channel: the mean activation, the peak, and where the peak is."""

    means: torch.Tensor  # (P, C)
    peaks: torch.Tensor  # (P, C)
    positions: torch.Tensor  # (P, C, 2) as (y, x) in the layer's map, or zeros for vectors
    map_size: tuple[int, int] | None  # (h, w) of the layer at the input size; None for vectors
    means_after: torch.Tensor | None = None  # (P, C) after the layer's activation function, if it has one
    peaks_after: torch.Tensor | None = None


def prepared_photos(model: VisionModel, photos: Sequence[Photo]) -> list[torch.Tensor]:
    """Each photo as the network sees it: (1, 3, S, S) at its input size, centre-cropped."""
    return [prepare(model, photo.pixels) for photo in photos]


def layer_photo_stats(model: VisionModel, layer: str, images: Sequence[torch.Tensor]) -> LayerPhotoStats:
    """Streams the prepared photos through the network once, keeping only per-channel numbers
    (also after the layer's activation function, where the layer is read before it)."""
    means, peaks, positions, means_after, peaks_after = [], [], [], [], []
    map_size = None
    after = model.layer(layer).after
    with torch.no_grad(), Probe(model, [layer]) as probe:
        for image in images:
            a = probe(image)[layer][0].float().cpu()
            if after is not None:
                flat_after = after.fn(a).flatten(1) if a.dim() == 3 else after.fn(a)[:, None]
                means_after.append(flat_after.mean(dim=1))
                peaks_after.append(flat_after.amax(dim=1))
            if a.dim() == 3:
                map_size = tuple(a.shape[-2:])
                flat = a.flatten(1)
                peak, index = flat.max(dim=1)
                positions.append(torch.stack((index // a.shape[-1], index % a.shape[-1]), dim=1))
                means.append(flat.mean(dim=1))
                peaks.append(peak)
            else:
                means.append(a)
                peaks.append(a)
                positions.append(torch.zeros(a.shape[0], 2, dtype=torch.long))
    return LayerPhotoStats(torch.stack(means), torch.stack(peaks), torch.stack(positions), map_size,
                           torch.stack(means_after) if means_after else None,
                           torch.stack(peaks_after) if peaks_after else None)


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


def top_photos(stats: LayerPhotoStats, channel: int, count: int = TOP_PHOTOS) -> list[int]:
    """Indices of the photos with the highest peak for ``channel``, best first."""
    order = torch.argsort(stats.peaks[:, channel], descending=True, stable=True)
    return [int(i) for i in order[:count]]


def last_conv_layer(model: VisionModel) -> str | None:
    """The deepest spatial main layer that is not a pooling layer: the last maps before the
    classifier (efficientnet-lite's head, VGG's conv5_3, a ViT's last block)."""
    main = set(model.main_layers)
    spatial = [l for l in model.layers.values()
               if l.spatial and l.name != LOGITS and l.name in main and "pool" not in l.kind.lower()]
    return spatial[-1].name if spatial else None


def class_drive(model: VisionModel, layer: str, images: Sequence[torch.Tensor]) -> torch.Tensor:
    """(classes, channels): how much each logit rises when a channel's whole map rises by one,
    summed over the photos (the gradient of the logits by a per-channel offset of the layer)."""
    info = model.layer(layer)
    delta = torch.zeros(1, info.channels, 1, 1, device=model.device, requires_grad=True)

    def add_offset(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> torch.Tensor:
        return output + info.layout.channel_view(delta.flatten())

    batch = torch.cat(list(images))
    handle = info.module.register_forward_hook(add_offset)
    rows = []
    with model.math_mode():
        try:
            logits = model.logits(batch).sum(dim=0)
        finally:
            handle.remove()
        for start in range(0, logits.shape[0], 100):
            eye = torch.eye(logits.shape[0], device=logits.device)[start:start + 100]
            (g,) = torch.autograd.grad(logits, delta, eye, retain_graph=True, is_grads_batched=True)
            rows.append(g.flatten(1).cpu())
    return torch.cat(rows)


def top_classes(model: VisionModel, drive: torch.Tensor, channel: int) -> list[dict]:
    values, indices = drive[:, channel].topk(min(TOP_CLASSES, drive.shape[0]))
    return [{"index": int(i), "name": model.class_name(int(i)), "drive": float(v)} for v, i in zip(values, indices)]
