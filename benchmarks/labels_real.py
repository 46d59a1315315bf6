"""Section 24: labels on real photos.

For efficientnet-lite0's block5, block8, block12 and head (every unit), ``convscope.labels``
over a photo folder whose file names carry their synsets (the 1,000 ImageNet sample photos,
one per class): the share of units with a label, the median AUC of the chosen labels (of all
units, and of those with a label), the labels tried and the time. Block12 again with the
network's own top classes in place of the folder's, and the 64 concepts of head's default
dictionary (NMF) learned over the folder. Then a contact sheet of 12 labelled units
(3 per layer, spread over the labelled ones): each unit's picture (lucid, 256 steps, 128 px)
beside its three photos of highest mean activation, under its label and AUC, to be judged by
eye in BENCHMARKS.md.

``python -m benchmarks.labels_real PHOTOS OUT [--quick]`` prints one JSON line and writes
OUT/labels-sheet.jpg.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import convscope
from convscope.data.photo_means import PhotoMeans, PhotoMeansPass
from convscope.data.photo_pass import run_pass
from convscope.data.photo_sources import PhotoFolder
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.io.picture import Picture, column, labelled, row

from .harness import machine

LAYERS = ("block5", "block8", "block12", "head")
SHEET_PER_LAYER = 3
TOP_PHOTOS = 3


def quiet(_stage: str, _done: int, _total: int) -> None:
    """A progress callback that shows nothing."""


def layer_row(labels: convscope.Labels, seconds: float) -> dict:
    """One layer's measures."""
    held = [u.auc for u in labels.units if u.labelled]
    return {"layer": labels.layer, "source": labels.source, "units": len(labels.units), "labelled": len(held),
            "share": labels.labelled_share, "median_auc": statistics.median(u.auc for u in labels.units),
            "median_auc_labelled": statistics.median(held) if held else None, "tried": labels.tried,
            "seconds": seconds}


def top_photos(model: convscope.models.VisionModel, folder: PhotoFolder, layer: str, units: list[int]) -> dict:
    """The names of each unit's TOP_PHOTOS photos of highest mean activation."""
    state = run_pass(model, folder, PhotoMeansPass(layer, model.layer(layer).channels, False), batch=32)
    kept: PhotoMeans = state.part.kept
    return {u: [folder.names[int(kept.indices[i])] for i in kept.means[:, u].argsort(descending=True)[:TOP_PHOTOS]]
            for u in units}


def concepts_row(model, photos: Path, out: Path) -> dict:
    """The default dictionary of head (NMF, 64 concepts) learned over the photos, and its concepts'
    labels (pictures at 64 steps: they are not what is measured here)."""
    start = time.perf_counter()
    found = convscope.concepts(model, "head", photos, out / "concepts-head", recipe=get_recipe("lucid", steps=64, size=128),
                               progress=quiet)
    seconds = time.perf_counter() - start
    words = [c.words for c in found.record.concepts if c.words]
    held = [w["auc"] for w in words if w["labelled"]]
    return {"layer": "head concepts (nmf 64)", "source": words[0]["source"] if words else "-", "units": len(words),
            "labelled": len(held), "share": len(held) / max(len(words), 1),
            "median_auc": statistics.median(w["auc"] for w in words) if words else None,
            "median_auc_labelled": statistics.median(held) if held else None, "tried": None, "seconds": seconds,
            "labels": [{"concept": c.name, "label": c.words["label"], "auc": c.words["auc"]}
                       for c in found.record.concepts if c.words and c.words["labelled"]]}


def _photo(path: Path) -> Picture:
    """A photo's centre square at 128 x 128."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return Picture(np.asarray(ImageOps.fit(image.convert("RGB"), (128, 128))))


def main(photos: Path, out: Path, quick: bool) -> dict:
    model = convscope.load("efficientnet-lite0")
    layers = LAYERS[1:2] if quick else LAYERS
    units_of = {layer: (list(range(16)) if quick else None) for layer in layers}
    rows, chosen = [], []
    for layer in layers:
        start = time.perf_counter()
        labels = convscope.labels(model, layer, units_of[layer], photos=photos, progress=quiet)
        rows.append(layer_row(labels, time.perf_counter() - start))
        held = [u for u in labels.units if u.labelled]
        step = max(1, len(held) // SHEET_PER_LAYER)
        chosen += [(layer, u) for u in held[::step][:SHEET_PER_LAYER]]
        print(json.dumps(rows[-1]), file=sys.stderr)
    if not quick:
        rows.append(concepts_row(model, photos, out))
    start = time.perf_counter()
    predicted = convscope.labels(model, "block12" if not quick else "block8", units_of.get("block12"),
                                 photos=photos, progress=quiet, classes="predictions")
    rows.append(layer_row(predicted, time.perf_counter() - start))
    folder = PhotoFolder(photos)
    examples, sheet = [], []
    for layer in dict.fromkeys(layer for layer, _u in chosen):
        shown_units = [u for name, u in chosen if name == layer]
        best = top_photos(model, folder, layer, [u.unit for u in shown_units])
        pictures = render(model, [f"{layer}:{u.unit}" for u in shown_units], get_recipe("lucid", steps=256, size=128),
                          seeds=[u.unit for u in shown_units]).pictures
        for u, picture in zip(shown_units, pictures):
            examples.append({"unit": f"{layer}:{u.unit}", "label": u.label, "auc": u.auc, "p_value": u.p_value,
                             "classes": list(u.classes[:8]), "top_photos": best[u.unit]})
            tiles = [picture, *[_photo(photos / name) for name in best[u.unit]]]
            sheet.append(labelled(row(tiles, 4), f"{layer}:{u.unit}  {u.label}  (AUC {u.auc:.2f})"))
    out.mkdir(parents=True, exist_ok=True)
    column(sheet, 8).save(out / "labels-sheet.jpg")
    return {"labels": rows, "labels_examples": examples, "labels_machine": machine()}


def labels_markdown(result: dict | str) -> list[str]:
    """Section 24 of BENCHMARKS.md."""
    parts = ["## 24. Labels on real photos", ""]
    if isinstance(result, str):
        return parts + [result, ""]

    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    parts += ["`LABEL_PHOTOS=DIR python -m benchmarks --only labels`, or `python -m benchmarks.labels_real DIR OUT`: "
              "`convscope.labels` with its defaults (1,000 shuffles, at least 5 photos a label, AUC 0.75 and p 0.01) "
              "for every unit of four layers of efficientnet-lite0, then the concepts of head's default dictionary "
              "(`convscope.concepts`, NMF, 64 concepts, labelled from each photo's mean code); the classes from the "
              "synsets that start the photos' file names, and for the last row from the network's own top classes. "
              "Median AUC: of the chosen label of every unit (with a label or not), then of the units with a "
              "label. Seconds: the whole call, its photo pass included.", "",
              "| layer | classes from | units | with a label | share | median AUC | median AUC, labelled | "
              "labels tried | seconds |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["labels"]:
        parts.append(f"| {r['layer']} | {r['source']} | {r['units']} | {r['labelled']} | {r['share']:.0%} | "
                     f"{cell(r['median_auc'])} | {cell(r['median_auc_labelled'])} | {r['tried'] or '-'} | "
                     f"{r['seconds']:.0f} |")
    concepts = next((r for r in result["labels"] if "labels" in r), None)
    if concepts is not None:
        parts += ["", f"The labelled concepts of head ({concepts['seconds']:.0f} s is the whole `concepts` run, "
                  "pictures at 64 steps and trust included): " + ", ".join(
                      f"{c['concept']} {c['label']} ({c['auc']:.2f})" for c in concepts["labels"]) + "."]
    parts += ["", "Twelve labelled units (`sheets/labels-twelve.jpg`: each row the unit's lucid picture, then its "
              "three photos of highest mean activation):", "",
              "| unit | label | AUC | p | some of its classes | top photos |", "| --- | --- | --- | --- | --- | --- |"]
    for e in result["labels_examples"]:
        parts.append(f"| {e['unit']} | {e['label']} | {e['auc']:.2f} | {e['p_value']:.3f} | "
                     f"{', '.join(e['classes'][:5])} | {', '.join(Path(n).stem.split('_', 1)[-1] for n in e['top_photos'])} |")
    return parts + [""]


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--quick"]
    print(json.dumps(main(Path(arguments[0]), Path(arguments[1]), "--quick" in sys.argv)))
