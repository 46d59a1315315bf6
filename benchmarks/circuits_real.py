"""Circuits on real photos: how much of each unit its top inputs explain, what integrated
gradients' steps cost and how far their attributions add up, and a contact sheet of three
circuits.

``python -m benchmarks.circuits_real PHOTOS OUT [--units 8]``: ``circuit`` with its defaults for
efficientnet-lite0's block8 and head (``--units`` evenly spaced units of each) and the class
tabby; then the attribution alone with 8, 16, 32 and 64 steps on four of those targets. Prints
one JSON line, writes it to OUT/circuits.json, and the sheet to OUT/circuits-sheet.jpg.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

import convscope
from convscope.data.photo_sources import PhotoFolder
from convscope.io.picture import Picture, column, labelled, row
from convscope.methods.circuits.attribution import attribute
from convscope.methods.circuits.replaced import Link
from convscope.methods.circuits.result import Circuit
from convscope.methods.circuits.targets import parse_target
from convscope.models.probe import Probe

LAYERS = ("block8", "head")
IG_STEPS = (8, 16, 32, 64)
SHEET_INPUTS = 4


def quiet(_stage: str, _done: int, _total: int) -> None:
    """A progress callback that shows nothing."""


def target_row(circuit: Circuit) -> dict:
    """One target's measures."""
    root = circuit.root_node
    a = root.ablation
    return {"target": root.label, "input_layer": root.input_layer, "top_share": a.top_share, "area": a.area,
            "random_top_share": a.random_mean[-1], "random_area": a.random_area,
            "completeness_error": root.completeness_error, "small_circuit": root.small_circuit,
            "seconds": circuit.seconds, "inputs": [i.to_json() for i in root.inputs]}


def steps_rows(model: convscope.models.VisionModel, folder: PhotoFolder, circuits: list[Circuit]) -> list[dict]:
    """Integrated gradients with each number of steps, on each circuit's top photos and baseline."""
    rows = []
    names = {name: i for i, name in enumerate(folder.names)}
    for circuit in circuits:
        root = circuit.root_node
        images = torch.cat([folder.image(model, names[name]) for name in root.photos])
        link = Link(model, parse_target(model, circuit.settings["target"]).objective, root.input_layer)
        baseline = mean_of(model, folder, root.input_layer)
        for steps in IG_STEPS:
            start = time.perf_counter()
            result = attribute(link, images, baseline, steps=steps)
            rows.append({"target": root.label, "steps": steps, "seconds": time.perf_counter() - start,
                         "completeness_error": result.completeness_error})
    return rows


def mean_of(model: convscope.models.VisionModel, folder: PhotoFolder, layer: str) -> torch.Tensor:
    """The folder's mean activation of each channel of ``layer`` (as the network uses it)."""
    total, count = None, 0
    info = model.layer(layer)
    with torch.no_grad(), Probe(model, [layer]) as probe:
        for _indices, images in folder.batches(model, 32):
            maps = info.as_used(probe(images)[layer])
            means = maps.flatten(2).mean(dim=2).double().sum(dim=0)
            total = means if total is None else total + means
            count += len(images)
    assert total is not None
    return (total / count).float()


def sheet(circuits: list[Circuit]) -> Picture:
    """Per circuit a row: its target's picture, then its strongest inputs', each labelled."""
    rows = []
    for circuit in circuits:
        root = circuit.root_node
        tiles = [labelled(circuit.pictures[root.key], f"{root.key}: {root.ablation.top_share:.0%} by top 8")]
        tiles += [labelled(circuit.pictures[f"{root.input_layer}:{i.unit}"],
                           f"{root.input_layer}:{i.unit} {i.attribution:+.2f} {i.sign}")
                  for i in root.inputs[:SHEET_INPUTS]]
        rows.append(row(tiles))
    return column(rows)


def main(photos: Path, out: Path, units: int = 8) -> dict:
    """Measures the circuits and writes OUT/circuits.json and the sheet; returns the results."""
    out.mkdir(parents=True, exist_ok=True)
    model = convscope.load("efficientnet-lite0")
    circuits: dict[str, Circuit] = {}
    for layer in LAYERS:
        channels = model.layer(layer).channels
        for n in range(units):
            target = f"{layer}:{n * channels // units}"
            circuits[target] = convscope.circuit(model, target, photos=photos, progress=quiet)
    circuits["logits:tabby"] = convscope.circuit(model, "logits:tabby", photos=photos, progress=quiet)
    rows = [target_row(c) for c in circuits.values()]
    chosen = list(circuits.values())
    by_share = sorted(chosen[:-1], key=lambda c: c.root_node.ablation.top_share)
    looked_at = [by_share[-1], by_share[len(by_share) // 2], circuits["logits:tabby"]]
    sheet(looked_at).save(out / "circuits-sheet.jpg")
    folder = PhotoFolder(photos)
    steps = steps_rows(model, folder, [chosen[0], chosen[units // 2], chosen[units], circuits["logits:tabby"]])
    summary = {layer: {"median_top_share": statistics.median(r["top_share"] for r in rows
                                                             if r["target"].startswith(layer + ":")),
                       "median_random_top_share": statistics.median(r["random_top_share"] for r in rows
                                                                    if r["target"].startswith(layer + ":")),
                       "small_circuits": sum(r["small_circuit"] for r in rows if r["target"].startswith(layer + ":")),
                       "targets": sum(r["target"].startswith(layer + ":") for r in rows),
                       "median_seconds": statistics.median(sum(r["seconds"].values()) for r in rows
                                                           if r["target"].startswith(layer + ":"))}
               for layer in LAYERS}
    result = {"photos": circuits["logits:tabby"].photos_read, "units_per_layer": units, "rows": rows,
              "summary": summary, "ig_steps": steps, "sheet": [c.root for c in looked_at]}
    (out / "circuits.json").write_text(json.dumps(result, indent=1))
    return result


def circuits_markdown(result: dict | str) -> list[str]:
    """Section 21 of BENCHMARKS.md."""
    parts = ["## 21. Circuits on real photos", ""]
    if isinstance(result, str):
        return parts + [result, ""]
    parts += [f"`CIRCUIT_PHOTOS=DIR python -m benchmarks --only circuits`, or `python -m benchmarks.circuits_real DIR "
              f"OUT`: `convscope.circuit` with its defaults (integrated gradients with 32 steps from the folder's mean, "
              f"the top 8 inputs of the main layer before, 16 top photos, 10 random orders, pictures with the lucid "
              f"recipe at 128 steps) over {result['photos']:,} photos, for {result['units_per_layer']} evenly spaced "
              "units of efficientnet-lite0's block8 and head. Share: of what makes the top photos excite the unit "
              "(its mean on them less its mean over the folder), taken away by ablating the top 8 inputs in the "
              "attribution's order, against 8 inputs in random orders.", "",
              "| layer | median share, top 8 | median share, random 8 | small circuits | median seconds per target |",
              "| --- | --- | --- | --- | --- |"]
    for layer, s in result["summary"].items():
        parts.append(f"| {layer} | {s['median_top_share']:.2f} | {s['median_random_top_share']:.2f} | "
                     f"{s['small_circuits']} of {s['targets']} | {s['median_seconds']:.0f} |")
    parts += ["", "| target | from | share, top 8 | share, random 8 | completeness error | seconds: pass, "
              "attribution, ablation, pictures |", "| --- | --- | --- | --- | --- | --- |"]
    for r in result["rows"]:
        s = r["seconds"]
        parts.append(f"| {r['target']} | {r['input_layer']} | {r['top_share']:.2f} | {r['random_top_share']:.2f} | "
                     f"{r['completeness_error']:.4f} | {s['photo_pass']:.0f}, {s['attribution']:.0f}, "
                     f"{s['ablation']:.0f}, {s['pictures']:.0f} |")
    parts += ["", "Integrated gradients' steps, on the same top photos and baseline (the attribution alone):", "",
              "| target | steps | completeness error | seconds |", "| --- | --- | --- | --- |"]
    parts += [f"| {r['target']} | {r['steps']} | {r['completeness_error']:.4f} | {r['seconds']:.1f} |"
              for r in result["ig_steps"]]
    parts += ["", f"Three circuits: {', '.join(result['sheet'])}, each its target's picture, then its four "
              "strongest inputs with their attribution and sign (`sheets/circuits-three.jpg`):", "",
              "![Three circuits](sheets/circuits-three.jpg)"]
    return parts + [""]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--units", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(main(args.photos, args.out, args.units)))
