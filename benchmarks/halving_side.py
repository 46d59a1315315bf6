"""Benchmark 18: `grid` with successive halving beside the full run, in one process.

For each network, layer and recipe: the full run (every candidate to the last step) and the
halving run (``select="halving"``), one after the other after an untimed warm-up render. Each
row gives how many of the full run's tiles the halving run also shows (overlap), the median
activation of the tiles in both, the wall times and their ratio. From the full run's
per-step objectives, other schedules are also simulated (their overlap and the share of
unit-steps they save), which is how the default schedule was chosen.
"""
from __future__ import annotations

import json
import statistics
import sys
import time

import torch

import convscope
from convscope.engine.halving import Halving
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render_units

from .speed import random_vgg16

SCHEDULES = {
    "1/8 1/4 1/2, keep 2 1.5 1 x top": ((0.125, 0.25, 0.5), (2.0, 1.5, 1.0)),
    "1/4 1/2, keep 2 1 x top": ((0.25, 0.5), (2.0, 1.0)),
    "1/8 1/4 1/2, keep 2.5 2 1.5 x top": ((0.125, 0.25, 0.5), (2.5, 2.0, 1.5)),
    "1/16 1/8 1/4 1/2, keep 2 1.5 1.25 1 x top": ((0.0625, 0.125, 0.25, 0.5), (2.0, 1.5, 1.25, 1.0)),
}


def simulate(history: torch.Tensor, final: torch.Tensor, halving: Halving) -> dict:
    """A schedule replayed on a full run's per-step objectives (the objective at a cut: the
    next step's, on the transformed image): its overlap with the full run's top and the
    unit-steps it saves."""
    steps, count = history.shape
    active, begin, cost = list(range(count)), 0, 0
    for until, keep in halving.cut_steps(steps):
        cost += (until - begin) * len(active)
        chosen = halving.choose(history[min(until, steps - 1), active], history[:until, active], keep, begin)
        active, begin = [active[p] for p in chosen], until
    cost += (steps - begin) * len(active)
    truth = best(range(count), final, halving.top)
    kept = best(active, final, halving.top)
    return {"overlap": len(set(truth) & set(kept)) / len(truth), "step_ratio": steps * count / cost}


def best(units, final: torch.Tensor, top: int) -> list[int]:
    """The ``top`` units above 0 with the highest final objective."""
    return sorted((u for u in units if final[u] > 0), key=lambda u: -float(final[u]))[:top]


def compare(model: convscope.models.VisionModel, layer: str, recipe: str, candidates: int, top: int, steps: int,
            size: int = 128) -> dict:
    """The renders of a full and of a halving grid of one layer, side by side (what the grid
    adds, the photo statistics and the sheet, is the same on both sides: section 13 times it)."""
    rec = get_recipe(recipe, steps=steps, size=size)
    render_units(model, layer, [0, 1], rec.with_options(steps=2))  # warm-up: allocator, first calls
    units = list(range(min(candidates, model.layer(layer).channels)))
    halving = Halving(top)
    start = time.perf_counter()
    full = render_units(model, layer, units, rec)
    full_s = time.perf_counter() - start
    start = time.perf_counter()
    half = render_units(model, layer, units, rec, select=halving)
    half_s = time.perf_counter() - start
    full_tiles = best(units, full.final, top)
    half_final = torch.full((len(units),), float("-inf"))
    half_final[half.slots] = half.final
    half_tiles = best(half.slots, half_final, top)
    simulated = {name: simulate(full.history, full.final, Halving(top, cuts=cuts, keep=keep))
                 for name, (cuts, keep) in SCHEDULES.items()}
    return {"model": model.name, "layer": layer, "recipe": recipe, "candidates": len(units), "top": top,
            "steps": steps, "size": size, "full_s": full_s, "halving_s": half_s, "speedup": full_s / half_s,
            "overlap": len(set(full_tiles) & set(half_tiles)) / len(full_tiles),
            "full_median_activation": statistics.median(float(full.final[u]) for u in full_tiles),
            "halving_median_activation": statistics.median(float(half_final[u]) for u in half_tiles),
            "behind": len(half.dropped), "select": halving.describe(steps), "simulated": simulated}


def main(quick: bool) -> list[dict]:
    lite0 = convscope.load()
    scale = 4 if quick else 1
    rows = [compare(lite0, layer, "keras2016", 200 // scale, 64 // scale, 20) for layer in ("block8", "head")]
    vgg = random_vgg16()
    rows += [compare(vgg, layer, "keras2016", 64 // scale, 16 // scale, 20) for layer in ("conv3_1", "conv5_1")]
    rows.append(compare(lite0, "block8", "lucid", 200 // scale, 64 // scale, 512 // scale))
    rows.append(compare(lite0, "head", "lucid", 200 // scale, 64 // scale, 128 // scale))
    return rows


if __name__ == "__main__":
    print(json.dumps(main(len(sys.argv) > 1 and sys.argv[1] == "quick")))


def halving_markdown(rows: list[dict], machine: str) -> list[str]:
    """Section 18 of BENCHMARKS.md."""
    parts = ["## 18. Grids with successive halving beside full runs", "",
             f"`benchmarks/halving_side.py` ({machine}): the render of a grid's candidates to the last step (full) "
             "and with `select=\"halving\"` (cuts after 1/8, 1/4 and 1/2 of the steps, keeping 2, 1.5 and 1 times "
             "`top`, never fewer than `top` plus an eighth, and the sixteenth of `top` rising fastest), one after "
             "the other in one process after an untimed warm-up render, 128 px. Overlap: the share of the full "
             "run's `top` tiles (its best filters above 0) that the halving run also shows. VGG16 has random "
             "weights. Each time is one run of minutes; the photo statistics and the sheet, the same on both "
             "sides, are left out (section 13 times whole processes).", "",
             "| model | layer | recipe | candidates | top | steps | full s | halving s | speed-up | overlap | "
             "full median act. | halving median act. | dropped early |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        parts.append(f"| {r['model']} | {r['layer']} | {r['recipe']} | {r['candidates']} | {r['top']} | {r['steps']} "
                     f"| {r['full_s']:.1f} | {r['halving_s']:.1f} | {r['speedup']:.2f} | {r['overlap']:.3f} | "
                     f"{r['full_median_activation']:.4g} | {r['halving_median_activation']:.4g} | {r['behind']} |")
    parts += [f"\n{r['model']} {r['layer']} {r['recipe']}: {r['note']}." for r in rows if r.get("note")]
    names = list(rows[0]["simulated"])
    parts += ["", "Other schedules replayed on each full run's per-step objectives (the objective at a cut: the next "
              "step's, on the transformed image), as overlap / the factor of unit-steps saved:", "",
              "| model | layer | recipe | " + " | ".join(names) + " |",
              "| --- | --- | --- | " + " | ".join("---" for _ in names) + " |"]
    for r in rows:
        cells = [f"{r['simulated'][n]['overlap']:.3f} / {r['simulated'][n]['step_ratio']:.2f}x" for n in names]
        parts.append(f"| {r['model']} | {r['layer']} | {r['recipe']} | " + " | ".join(cells) + " |")
    return parts
