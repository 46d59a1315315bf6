"""How the maco recipe's defaults were chosen: a first setting, then one setting changed at a
time, on the same units of efficientnet-lite0 (the first of block8 and of head that some
built-in photo drives above 0, so that a ratio to the best photo means something), with
lucid beside them. Prints JSON."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import convscope
from convscope.engine.objectives import channel
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.io.builtin_photos import builtin_photos
from convscope.io.picture import stitch
from convscope.methods.fidelity import photo_maxima

BASE: dict[str, Any] = {"steps": 256, "size": 256, "views": 4, "view_size": 128, "crop_scale": 0.8, "noise": 0.05, "lr": 1.0}
VARIANTS: list[dict[str, Any]] = [
    {},
    {"crop_scale": 1.0},
    {"crop_scale": 0.5},
    {"views": 2},
    {"views": 8},
    {"noise": 0.0},
    {"steps": 128},
    {"size": 512, "view_size": 224},
]
LAYERS = ("block8", "head")


def median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2]


def measured_units(maxima, count: int) -> list[int]:
    """The first ``count`` units that some photo drives above 0."""
    return [u for u in range(len(maxima)) if maxima[u] > 0][:count]


def run(name: str, options: dict, units: int, sheets: Path | None) -> dict:
    model = convscope.load()
    recipe = get_recipe(name, **options)
    row = {"recipe": name, **options}
    total_s, unit_steps = 0.0, 0
    for layer in LAYERS:
        maxima = photo_maxima(model, layer, builtin_photos())
        chosen = measured_units(maxima, units)
        start = time.perf_counter()
        result = render(model, [channel(layer, u) for u in chosen], recipe, batch=units)
        total_s += time.perf_counter() - start
        unit_steps += units * recipe.steps
        ratios = [float(a) / float(maxima[u]) for u, a in zip(chosen, result.final)]
        row[f"{layer}_median_ratio"] = median(ratios)
        row[f"{layer}_min_ratio"] = min(ratios)
        row[f"{layer}_centre_share"] = median([(p.importance_summary() or {})["centre_share"] for p in result.pictures])
        if sheets is not None:
            label = "-".join(f"{k}{v}" for k, v in options.items() if BASE.get(k) != v or name != "maco")
            stitch(result.pictures).save(sheets / f"{name}-{label or 'base'}-{layer}.png")
    row["s_per_unit_step"] = total_s / unit_steps
    return row


def main(units: int, steps: int, sheets: Path | None) -> list[dict]:
    rows = [run("lucid", {"steps": steps}, units, sheets)]
    for variant in VARIANTS:
        rows.append(run("maco", {**BASE, "steps": steps, **variant}, units, sheets))
        print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


if __name__ == "__main__":
    sheet_dir = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    if sheet_dir is not None:
        sheet_dir.mkdir(parents=True, exist_ok=True)
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]), sheet_dir)))
