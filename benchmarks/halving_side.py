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
from pathlib import Path

import torch

import convscope
from convscope.engine.batch import RenderResult
from convscope.engine.halving import Halving
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render_units
from convscope.io.picture import Picture, column, labelled, row

from .harness import machine
from .speed import random_vgg16

ROOT = Path(__file__).resolve().parent.parent
SHEET_TILES = 8

SCHEDULES = {
    "1/8 1/4 1/2, keep 2 1.5 1 x top": ((0.125, 0.25, 0.5), (2.0, 1.5, 1.0)),
    "1/4 1/2, keep 2 1 x top": ((0.25, 0.5), (2.0, 1.0)),
    "1/8 1/4 1/2, keep 2.5 2 1.5 x top": ((0.125, 0.25, 0.5), (2.5, 2.0, 1.5)),
    "1/16 1/8 1/4 1/2, keep 2 1.5 1.25 1 x top": ((0.0625, 0.125, 0.25, 0.5), (2.0, 1.5, 1.25, 1.0)),
}
FIRST = "1/8 1/4 1/2, keep 2 1.5 1 x top"  # the rule of the table's halving column
WIDER = "1/8 1/4 1/2, keep 2.5 2 1.5 x top"  # Halving's default, chosen from these rows


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


def schedule(name: str, top: int) -> Halving:
    """The rule ``SCHEDULES[name]`` for a grid of ``top`` tiles."""
    cuts, keep = SCHEDULES[name]
    return Halving(top, cuts=cuts, keep=keep)


def halving_run(model: convscope.models.VisionModel, layer: str, units: list[int], recipe, halving: Halving,
                full: RenderResult) -> tuple[RenderResult, float, dict]:
    """A halving render timed, and how it compares with the full run: the overlap of the
    tiles and the median activation of each side's tiles."""
    start = time.perf_counter()
    half = render_units(model, layer, units, recipe, select=halving)
    seconds = time.perf_counter() - start
    full_tiles = best(units, full.final, halving.top)
    half_final = torch.full((len(units),), float("-inf"))
    half_final[half.slots] = half.final
    half_tiles = best(half.slots, half_final, halving.top)
    return half, seconds, {
        "overlap": len(set(full_tiles) & set(half_tiles)) / len(full_tiles),
        "full_median_activation": statistics.median(float(full.final[u]) for u in full_tiles),
        "halving_median_activation": statistics.median(float(half_final[u]) for u in half_tiles)}


def contact_sheet(full: RenderResult, half: RenderResult, units: list[int], top: int, path: Path) -> Path:
    """The full run's best tiles (top row) above the halving run's pictures of the same
    filters (second row), and the full run's tiles that halving dropped (third row, with the
    step it dropped them at and their final activation in the full run)."""
    tiles = best(units, full.final, top)
    shown = set(half.slots)
    step_of = {d["index"]: d["step"] for d in half.dropped}
    spread = list(dict.fromkeys(tiles[round(i * (len(tiles) - 1) / (SHEET_TILES - 1))] for i in range(SHEET_TILES)))
    kept = [u for u in spread if u in shown]
    lost = [u for u in tiles if u not in shown][:SHEET_TILES]

    def tile(result: RenderResult, unit: int, text: str) -> Picture:
        return labelled(result.pictures[result.slots.index(unit) if result.slots else unit], text)
    rows = [row([tile(full, u, f"full #{u} {float(full.final[u]):.1f}") for u in kept]),
            row([tile(half, u, f"halving #{u} {float(half.final[half.slots.index(u)]):.1f}") for u in kept])]
    if lost:
        rows.append(row([tile(full, u, f"#{u} {float(full.final[u]):.1f} cut@{step_of[u]}") for u in lost]))
    path.parent.mkdir(parents=True, exist_ok=True)
    return column(rows, margin=8).save(path, quality=85)


def compare(model: convscope.models.VisionModel, layer: str, recipe: str, candidates: int, top: int, steps: int,
            size: int = 128, confirm_wider: bool = False, sheet: bool = False) -> dict:
    """The renders of a full and of a halving grid of one layer, side by side (what the grid
    adds, the photo statistics and the sheet, is the same on both sides: section 13 times it).
    ``confirm_wider`` also runs the wider schedule (``WIDER``) for real, beside its replay;
    ``sheet`` writes sheets/halving-LAYER-RECIPE.jpg (see ``contact_sheet``)."""
    rec = get_recipe(recipe, steps=steps, size=size)
    render_units(model, layer, [0, 1], rec.with_options(steps=2))  # warm-up: allocator, first calls
    units = list(range(min(candidates, model.layer(layer).channels)))
    top = min(top, len(units))
    halving = schedule(FIRST, top)
    start = time.perf_counter()
    full = render_units(model, layer, units, rec)
    full_s = time.perf_counter() - start
    half, half_s, measures = halving_run(model, layer, units, rec, halving, full)
    simulated = {name: simulate(full.history, full.final, schedule(name, top)) for name in SCHEDULES}
    result = {"model": model.name, "layer": layer, "recipe": recipe, "candidates": len(units), "top": top,
              "steps": steps, "size": size, "full_s": full_s, "halving_s": half_s, "speedup": full_s / half_s,
              **measures, "behind": len(half.dropped), "select": halving.describe(steps), "simulated": simulated}
    if confirm_wider:
        wider, wider_s, wider_measures = halving_run(model, layer, units, rec, schedule(WIDER, top), full)
        result["confirmed"] = {WIDER: {"halving_s": wider_s, "speedup": full_s / wider_s, "behind": len(wider.dropped),
                                       **wider_measures}}
    if sheet:
        result["sheet"] = str(contact_sheet(full, half, units, top, ROOT / "sheets" / f"halving-{layer}-{recipe}.jpg")
                              .relative_to(ROOT))
    return result


def rows_to_run(quick: bool) -> list[tuple[str, str, str, int, int, int, dict]]:
    """Section 18's rows: (network, layer, recipe, candidates, top, steps, options of ``compare``).
    block2 has 24 filters, so its grid keeps 16."""
    scale = 4 if quick else 1
    lite = "efficientnet-lite0"
    return [(lite, "block2", "keras2016", 200, 16 // scale, 20, {}),
            (lite, "block8", "keras2016", 200 // scale, 64 // scale, 20, {"sheet": True}),
            (lite, "head", "keras2016", 200 // scale, 64 // scale, 20, {"confirm_wider": True, "sheet": True}),
            ("vgg16", "conv3_1", "keras2016", 64 // scale, 16 // scale, 20, {}),
            ("vgg16", "conv5_1", "keras2016", 64 // scale, 16 // scale, 20, {}),
            (lite, "block2", "lucid", 200, 16 // scale, 512 // scale, {}),
            (lite, "block8", "lucid", 200 // scale, 64 // scale, 512 // scale, {}),
            (lite, "head", "lucid", 200 // scale, 64 // scale, 128 // scale, {"confirm_wider": True, "sheet": True}),
            (lite, "head", "lucid", 200 // scale, 64 // scale, 512 // scale, {}),
            ("vgg16", "conv3_1", "lucid", 200 // scale, 64 // scale, 512 // scale, {"sheet": True}),
            ("vgg16", "conv5_1", "lucid", 64 // scale, 16 // scale, 128 // scale, {})]


def row_key(model: str, layer: str, recipe: str, steps: int) -> str:
    """A row's name in ``HALVING_ROWS`` and in merges: ``model:layer:recipe:steps``."""
    return f"{model}:{layer}:{recipe}:{steps}"


def key_of(row: dict) -> str:
    """The ``row_key`` of a result row."""
    return row_key(row["model"], row["layer"], row["recipe"], row["steps"])


def main(quick: bool, keys: list[str] | None = None) -> list[dict]:
    """Runs section 18's rows, or only those named by ``keys`` (see ``row_key``); each row
    records the machine that ran it."""
    networks = {"efficientnet-lite0": convscope.load, "vgg16": random_vgg16}
    loaded: dict[str, convscope.models.VisionModel] = {}
    rows = []
    for name, layer, recipe, candidates, top, steps, options in rows_to_run(quick):
        if keys and row_key(name, layer, recipe, steps) not in keys:
            continue
        model = loaded.setdefault(name, networks[name]())
        rows.append({**compare(model, layer, recipe, candidates, top, steps, **options), "machine": machine()})
    return rows


if __name__ == "__main__":
    print(json.dumps(main(len(sys.argv) > 1 and sys.argv[1] == "quick")))


def halving_markdown(rows: list[dict], machine: str) -> list[str]:
    """Section 18 of BENCHMARKS.md."""
    parts = ["## 18. Grids with successive halving beside full runs", "",
             f"`benchmarks/halving_side.py` ({machine}): the render of a grid's candidates to the last step (full) "
             "and halving (cuts after 1/8, 1/4 and 1/2 of the steps, keeping 2, 1.5 and 1 times `top`, never fewer "
             "than `top` plus an eighth, and the sixteenth of `top` rising fastest: the first rule tried; the "
             "default, chosen from these rows, keeps 2.5, 2 and 1.5 times `top`, and ran for real where the table "
             "below says), one after "
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
    elsewhere = [r for r in rows if r.get("machine", machine) != machine]
    if elsewhere:
        parts += ["", "Rows of an earlier run, on another machine: " + "; ".join(
            f"{r['model']} {r['layer']} {r['recipe']} {r['steps']} steps ({r['machine']})" for r in elsewhere) + "."]
    confirmed = [(r, name, c) for r in rows for name, c in r.get("confirmed", {}).items()]
    if confirmed:
        parts += ["", "Schedules run for real beside the replay (same full run; the replay's figure in brackets):", "",
                  "| model | layer | recipe | steps | schedule | halving s | speed-up | overlap (replay) | "
                  "halving median act. | dropped early |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        parts += [f"| {r['model']} | {r['layer']} | {r['recipe']} | {r['steps']} | {name} | {c['halving_s']:.1f} | "
                  f"{c['speedup']:.2f} | {c['overlap']:.3f} ({r['simulated'][name]['overlap']:.3f}) | "
                  f"{c['halving_median_activation']:.4g} | {c['behind']} |" for r, name, c in confirmed]
    sheets = [r for r in rows if r.get("sheet")]
    if sheets:
        parts += ["", "Contact sheets: the full run's best tiles (8 spread over its ranks), the halving run's pictures of "
                  "the same filters under them, and in a third row the full run's tiles that halving dropped (with "
                  "the step of the cut):", ""]
        parts += [f"- {r['model']} {r['layer']} {r['recipe']}, {r['steps']} steps: [{r['sheet']}]({r['sheet']})"
                  for r in sheets]
    names = list(rows[0]["simulated"])
    parts += ["", "Other schedules replayed on each full run's per-step objectives (the objective at a cut: the next "
              "step's, on the transformed image), as overlap / the factor of unit-steps saved:", "",
              "| model | layer | recipe | " + " | ".join(names) + " |",
              "| --- | --- | --- | " + " | ".join("---" for _ in names) + " |"]
    for r in rows:
        cells = [f"{r['simulated'][n]['overlap']:.3f} / {r['simulated'][n]['step_ratio']:.2f}x" for n in names]
        parts.append(f"| {r['model']} | {r['layer']} | {r['recipe']} | " + " | ".join(cells) + " |")
    return parts
