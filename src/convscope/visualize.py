"""The article's pictures through the render loop: one filter, and a layer's grid of the best."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .errors import OutOfRangeError
from .images import Picture, stitch
from .models import VisionModel, load
from .objectives import channel
from .photos import Photo, builtin_photos
from .recipes import DEFAULT_RECIPE, Recipe, get_recipe
from .render import Progress, render
from .stats import fidelity, photo_maxima


def as_model(model: VisionModel | str) -> VisionModel:
    return load(model) if isinstance(model, str) else model


def visualize_filter(model: VisionModel | str, layer: str, unit: int, *, recipe: str | Recipe = DEFAULT_RECIPE,
                     size: int | None = None, steps: int | None = None, seed: int = 0,
                     progress: Progress | None = None) -> Picture:
    """The picture that maximizes channel ``unit`` of ``layer``; ``picture.info`` holds the
    activation reached and the settings."""
    model = as_model(model)
    model.check_channel(layer, unit)
    rec = get_recipe(recipe, size=size, steps=steps)
    result = render(model, [channel(layer, unit)], rec, seeds=[seed + unit], transform_seed=seed,
                    progress=progress)
    picture = result.pictures[0]
    picture.info = {"model": model.name, "layer": model.layer(layer).name, "channel": unit,
                    "activation": float(result.final[0]), "start": float(result.history[0, 0]),
                    "recipe": rec.as_dict(), "seed": seed, "precision": model.effective_precision}
    return picture


@dataclass
class Grid:
    """A layer's sheet of its strongest filters, and each tile's numbers in tile order."""

    sheet: Picture
    tiles: list[dict]
    dropped: list[dict]
    settings: dict = field(default_factory=dict)

    def sidecar(self) -> dict:
        return {**self.settings, "tiles": self.tiles, "dropped": self.dropped}


def filter_grid(model: VisionModel | str, layer: str, *, candidates: int = 200, top: int = 64,
                recipe: str | Recipe = DEFAULT_RECIPE, size: int | None = None, steps: int | None = None,
                seed: int = 0, batch: int = 32, photos: Sequence[Photo] | None = None,
                progress: Progress | None = None) -> Grid:
    """The article's procedure: render the first ``candidates`` filters, drop those whose
    activation ends at or below 0, keep the best ``top``, best first, on a square sheet."""
    model = as_model(model)
    info = model.layer(layer)
    if candidates <= 0 or top <= 0:
        raise OutOfRangeError("--candidates and --top must be positive")
    rec = get_recipe(recipe, size=size, steps=steps)
    units = list(range(min(candidates, info.channels)))
    result = render(model, [channel(layer, u) for u in units], rec, seeds=[seed + u for u in units],
                    transform_seed=seed, batch=batch, progress=progress)
    maxima = photo_maxima(model, layer, photos if photos is not None else builtin_photos())
    rows = []
    for u, act, pic in zip(units, result.final.tolist(), result.pictures):
        rows.append(({"channel": u, "activation": act, "photo_max": float(maxima[u]),
                      "ratio": fidelity(act, float(maxima[u]))}, pic))
    alive = sorted((r for r in rows if r[0]["activation"] > 0), key=lambda r: -r[0]["activation"])
    kept = alive[:top]
    if not kept:
        raise OutOfRangeError(f"every filter of {info.name} ended at or below 0: try more --steps")
    dropped = [r[0] for r in rows if r[0]["activation"] <= 0]
    sheet = stitch([pic for _row, pic in kept])
    settings = {"model": model.name, "layer": info.name, "candidates": len(units), "top": top,
                "seed": seed, "recipe": rec.as_dict(), "precision": model.effective_precision}
    return Grid(sheet, [row for row, _pic in kept], dropped, settings)
