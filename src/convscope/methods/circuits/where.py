"""Where in the target's field an input contributes: each input's attribution at each position
of its map, cut around the target's peak on each photo and averaged over the photos (the
vision analogue of the weight pictures of Distill's Circuits thread), and drawn as a picture:
red where the input raises the target, blue where it lowers it."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from convscope.io.picture import Picture

WINDOW_CELLS = 3  # the window reaches this many of the target's cells around its peak, each way
MAP_PX = 64


def peak_positions(target_maps: torch.Tensor) -> torch.Tensor:
    """(P, 2): the (y, x) of each photo's highest value in (P, H, W) maps."""
    flat = target_maps.flatten(1).argmax(dim=1)
    width = target_maps.shape[-1]
    return torch.stack((flat // width, flat % width), dim=1)


def around_peaks(contributions: torch.Tensor, peaks: torch.Tensor | None, target_hw: tuple[int, int] | None
                 ) -> torch.Tensor:
    """(C, h, w): the contributions (P, C, H, W) averaged over the photos, each photo's cut to a
    window around its target peak (zeros past the border); the whole maps when the target has
    no positions (``peaks`` None)."""
    if peaks is None or target_hw is None:
        return contributions.mean(dim=0)
    _, _, height, width = contributions.shape
    scale_y, scale_x = height / target_hw[0], width / target_hw[1]
    half_y, half_x = max(1, round(WINDOW_CELLS * scale_y)), max(1, round(WINDOW_CELLS * scale_x))
    padded = F.pad(contributions, (half_x, half_x, half_y, half_y))
    windows = []
    for photo, (y, x) in enumerate(peaks.tolist()):
        cy, cx = int((y + 0.5) * scale_y), int((x + 0.5) * scale_x)
        windows.append(padded[photo, :, cy:cy + 2 * half_y + 1, cx:cx + 2 * half_x + 1])
    return torch.stack(windows).mean(dim=0)


def where_picture(values: torch.Tensor, scale: float) -> Picture:
    """A signed (h, w) map as a picture: red positive, blue negative, black zero; ``scale`` is
    the value drawn at full strength (shared by the maps compared)."""
    v = (values / max(scale, 1e-12)).clamp(-1, 1).numpy()
    rgb = np.zeros((*v.shape, 3), dtype=np.float32)
    rgb[..., 0] = np.clip(v, 0, 1)
    rgb[..., 2] = np.clip(-v, 0, 1)
    rgb[..., 1] = 0.25 * np.abs(v)
    pixels = (rgb * 255).round().astype(np.uint8)
    repeat = max(1, MAP_PX // max(v.shape))
    return Picture(np.ascontiguousarray(pixels.repeat(repeat, axis=0).repeat(repeat, axis=1)))
