"""Section 23: does the verdict hold per unit on real photos?

For efficientnet-lite0 (block2, block5, block8, block12, head; units 0-15 each) and the
recipes lucid and maco, ``convscope.stats`` over a photo folder (three pictures per unit, 200
trials, judge efficientnet-lite2, false-positive rate 0.05). Per layer and recipe:

- how many units' own pictures beat both controls on the choice (above the starting noise and
  above the median of the other units' pictures, as point estimates), and their verdicts;
- the area under the curve of the own pictures' choice against the other units' pictures'
  choices on the same unit's trials (1: the own pictures always do better; 0.5: no better);
- the path scores of the pictures and of the noise, and how many units' noise stands above
  1 beyond its interval.

Then the cost of the trials: the measures alone (no render) for 16 units of block8 at 50 and
at 200 trials, side by side; the path scores of uniform noise at block8 (where noise stands
above 1); and a contact sheet of units judged each way.

``python -m benchmarks.trust_validity PHOTOS OUT [--quick]`` prints one JSON line; PHOTOS is a
folder of photos (the 1,000 of EliSchwartz/imagenet-sample-images for BENCHMARKS.md).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

import convscope
from convscope.data.photo_sources import as_source
from convscope.data.photo_stats import photo_statistics
from convscope.io.picture import Picture, column, labelled, row
from convscope.methods.trust.assess import TrustMeter, TrustSettings, measure_trust
from convscope.methods.trust.judge import load_judge

from .harness import machine

LAYERS = ("block2", "block5", "block8", "block12", "head")
RECIPES = ("lucid", "maco")
VERDICTS = ("shows", "does not", "cannot say")
SHEET_UNITS = 6  # units per verdict on the contact sheet


def unit_summary(layer: str, recipe: str, row_: dict) -> dict:
    """One unit's numbers, from a ``stats`` row with trust."""
    trust = row_["trust"]
    controls, verdict = trust["controls"], trust["verdict"]
    own, others = trust["choice_pictures"]["score"], controls["other_units"]["choices"]
    noise_path = controls["noise"]["path"]
    return {"layer": layer, "recipe": recipe, "unit": row_["unit"], "choice": own,
            "choice_noise": controls["noise"]["choice"]["score"], "choice_others": float(np.median(others)),
            "choice_photos": trust["choice_photos"]["score"],
            "auc": float(np.mean([1.0 if own > o else 0.5 if own == o else 0.0 for o in others])),
            "path": trust["path_score"], "path_noise": controls["noise"]["path_score"],
            "noise_interval": noise_path["interval"] if noise_path else None,
            "verdict": verdict["verdict"], "reason": verdict["reason"]}


def layer_summary(units: list[dict], seconds: float) -> dict:
    """A layer's counts and medians over its units."""
    def median(key: str) -> float | None:
        known = [u[key] for u in units if u[key] is not None]
        return float(np.median(known)) if known else None

    return {"layer": units[0]["layer"], "recipe": units[0]["recipe"], "units": len(units), "seconds": seconds,
            "beat_both": sum(u["choice"] > u["choice_noise"] and u["choice"] > u["choice_others"] for u in units),
            "verdicts": {v: sum(u["verdict"] == v for u in units) for v in VERDICTS},
            "auc": float(np.mean([u["auc"] for u in units])),
            "median_choice": median("choice"), "median_choice_noise": median("choice_noise"),
            "median_choice_others": median("choice_others"), "median_choice_photos": median("choice_photos"),
            "median_path": median("path"), "median_path_noise": median("path_noise"),
            "noise_path_below_own": sum(u["path"] is not None and u["path_noise"] is not None
                                        and u["path_noise"] < u["path"] for u in units),
            "noise_above_1_beyond_interval": sum(u["noise_interval"] is not None and u["noise_interval"][0] > 1
                                                 for u in units)}


def trial_cost(model, photos: Path, pictures: list[list[Picture]], units: list[int]) -> dict:
    """Seconds of the measures alone for ``units`` of block8 and their lucid ``pictures`` (three
    per unit, seeds 0, 1_000_003, 2_000_006) at 50 and at 200 trials, from the ranked photos
    with nothing embedded yet (a fresh judge and meter each time: every photo a trial shows is
    read and embedded), timed twice in turn after one untimed run of each; the faster kept."""
    import torch

    from convscope.engine.batch import as_seen
    from convscope.engine.recipes import get_recipe
    from convscope.methods.trust.assess import picture_seeds
    from convscope.methods.trust.controls import starting_noise
    from convscope.methods.trust.judge import Judge

    recipe, source, judge_model = get_recipe("lucid"), as_source(photos), load_judge(None, model).model
    seen = [as_seen(recipe, model, torch.stack([p.to_tensor() for p in unit])) for unit in pictures]
    noise = [starting_noise(recipe, model, [s + u for s in picture_seeds(0, 3)]) for u in units]
    ranked = {}
    for trials in (50, 200):
        settings = TrustSettings(Judge(judge_model), trials=trials, references=3)
        ranked[trials] = photo_statistics(model, ["block8"], source, top=settings.top_photos,
                                          low=settings.low_photos)["block8"]
    times: dict[int, list[float]] = {50: [], 200: []}
    for timed in (False, True, True):
        for trials, stats in ranked.items():
            start = time.perf_counter()
            meter = TrustMeter(model, "block8", source, stats, TrustSettings(Judge(judge_model), trials=trials), 0)
            measure_trust(meter, units, seen, noise)
            if timed:
                times[trials].append(time.perf_counter() - start)
    return {"50": min(times[50]), "200": min(times[200]), "ratio_200_to_50": min(times[200]) / min(times[50])}


def last_maps_summary(model, photos: Path, layer: str, recipe_name: str, units: list[int],
                      pictures: list[list[Picture]], ranked: dict) -> dict:
    """The layer's summary (see ``layer_summary``) with the judge reading its last maps, as it did
    before it read the layer at the unit's depth: the same pictures, trials and settings
    (``ranked`` keeps each layer's photo ranking for the other recipe)."""
    import torch

    from convscope.engine.batch import as_seen
    from convscope.engine.recipes import get_recipe
    from convscope.methods.trust.assess import picture_seeds
    from convscope.methods.trust.controls import starting_noise
    from convscope.methods.trust.judge import Judge, last_maps

    judge_model = load_judge(None, model).model
    settings = TrustSettings(Judge(judge_model, last_maps(judge_model)), trials=200, references=3)
    source, recipe = as_source(photos), get_recipe(recipe_name)
    if layer not in ranked:
        ranked[layer] = photo_statistics(model, [layer], source, top=settings.top_photos,
                                         low=settings.low_photos)[layer]
    start = time.perf_counter()
    seen = [as_seen(recipe, model, torch.stack([p.to_tensor() for p in unit])) for unit in pictures]
    noise = [starting_noise(recipe, model, [s + u for s in picture_seeds(0, 3)]) for u in units]
    meter = TrustMeter(model, layer, source, ranked[layer], settings, 0)
    measured = measure_trust(meter, units, seen, noise)
    summaries = [unit_summary(layer, recipe_name, {"unit": u, "trust": m.as_dict()}) for u, m in zip(units, measured)]
    return layer_summary(summaries, time.perf_counter() - start) | {"judge_layer": meter.judge.layer}


def uniform_noise_paths(model, photos: Path, layer: str, units: list[int]) -> list[dict]:
    """The path score, with its interval and its per-layer levels, of three images of uniform
    noise (seed 0) as a unit's references, for ``units`` of ``layer``: where noise stands above 1."""
    import torch

    settings = TrustSettings(load_judge(None, model), trials=200, references=3)
    source = as_source(photos)
    stats = photo_statistics(model, [layer], source, top=settings.top_photos, low=settings.low_photos)[layer]
    meter = TrustMeter(model, layer, source, stats, settings, 0)
    noise = meter.picture_set(torch.rand(3, 3, model.input_size, model.input_size,
                                         generator=torch.Generator().manual_seed(0)))
    gray = meter.picture_set(torch.full((1, 3, model.input_size, model.input_size), 0.5))
    rows = []
    for unit in units:
        measured = meter.measure(unit, noise, gray, {})  # the noise as the unit's pictures
        path = measured.path
        assert path is not None
        rows.append({"unit": unit, "score": path.mean_score, "interval": path.interval,
                     "layers": [{"layer": name, "noise": p, "natural": n, "chance": c, "score": s}
                                for name, p, n, c, s in zip(path.layers, path.picture, path.natural, path.chance,
                                                            path.score)]})
    return rows


def contact_sheet(examples: dict[str, list[tuple[str, Picture]]]) -> Picture:
    """One row per verdict: up to SHEET_UNITS units judged so, each its first picture beside its
    best photo."""
    rows = []
    for verdict in VERDICTS:
        shown = [labelled(p, label) for label, p in examples[verdict][:SHEET_UNITS]]
        if shown:
            rows.append(labelled(row(shown, 4), verdict))
    return column(rows, 8)


def main(photos: Path, out: Path, quick: bool) -> dict:
    model = convscope.load("efficientnet-lite0")
    units = list(range(4 if quick else 16))
    layers = LAYERS[2:3] if quick else LAYERS
    rows, per_unit, block8_pictures, last_maps_rows = [], [], None, []
    ranked: dict = {}  # layer -> its photo ranking, shared by the recipes
    examples: dict[str, list[tuple[str, Picture]]] = {v: [] for v in VERDICTS}
    for recipe in RECIPES:
        for layer in layers:
            start = time.perf_counter()
            report = convscope.stats(model, layer, units, photos=photos, recipe=recipe, seed=0, references=3,
                                     trials=200)
            seconds = time.perf_counter() - start
            summaries = [unit_summary(layer, recipe, r) for r in report.rows]
            per_unit += summaries
            rows.append(layer_summary(summaries, seconds) | {"judge_layer": report.rows[0]["trust"]["judge_layer"]})
            last_maps_rows.append(last_maps_summary(model, photos, layer, recipe, units, report.pictures, ranked))
            for summary, pictures, r in zip(summaries, report.pictures, report.rows):
                pair = row([_small(pictures[0]), _photo(photos / r["best_photo"])], 2)
                examples[summary["verdict"]].append((f"{recipe} {layer} {summary['unit']}", pair))
            if layer == "block8" and recipe == "lucid":
                block8_pictures = report.pictures
            print(json.dumps(rows[-1]), file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    spread_out = {v: examples[v][::max(1, len(examples[v]) // SHEET_UNITS)] for v in VERDICTS}
    contact_sheet(spread_out).save(out / "trust-verdicts.jpg")
    result: dict[str, object] = {"trust_validity": rows, "trust_validity_units": per_unit,
                                 "trust_validity_last_maps": last_maps_rows,
                                 "trust_validity_machine": machine()}
    if block8_pictures is not None:
        result["trust_trial_seconds"] = trial_cost(model, photos, block8_pictures, units)
    result["trust_uniform_noise"] = uniform_noise_paths(model, photos, "block8", units)
    return result


def _photo(path: Path) -> Picture:
    """A photo's centre square at 96 x 96."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return Picture(np.asarray(ImageOps.fit(image.convert("RGB"), (96, 96))))


def _small(picture: Picture) -> Picture:
    import torch.nn.functional as F

    return Picture.from_tensor(F.interpolate(picture.to_tensor()[None], size=(96, 96), mode="bilinear",
                                             antialias=True, align_corners=False)[0])


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--quick"]
    print(json.dumps(main(Path(arguments[0]), Path(arguments[1]), "--quick" in sys.argv)))


def trust_validity_markdown(result: dict | str) -> list[str]:
    """Section 23 of BENCHMARKS.md."""
    parts = ["## 23. Trust per unit: controls and verdicts on real photos", ""]
    if isinstance(result, str):
        return parts + [result, ""]
    rows = result["trust_validity"]

    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    parts += ["`TRUST_PHOTOS=DIR python -m benchmarks --only trust_validity`, or `python -m benchmarks.trust_validity "
              "DIR OUT`: `convscope.stats` over the photo folder for efficientnet-lite0, units 0-15 of each layer, "
              "three pictures per unit (the recipe's defaults), 200 trials, judge efficientnet-lite2 reading its layer "
              "at the unit's depth (the default), false-positive rate 0.05. Beat both: units whose pictures' choice "
              "is above both the starting noise's and the median "
              "of the other 15 units' pictures' on the same trials (point estimates). AUC: per unit, the share of "
              "the other units whose pictures score below its own on its trials, averaged over the units (0.5: the "
              "own pictures are no better than another unit's). Noise < own: units whose starting noise has a lower "
              "path score than their pictures; noise > 1: units whose noise's path interval lies above 1. Seconds: "
              "each row's wall time, renders included, with other work on the two cores at times.", "",
              "| recipe | layer | beat both | shows / does not / cannot say | AUC | choice: pictures | noise | "
              "other units | top photos | path: pictures | noise | noise < own | noise > 1 | seconds |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        v = r["verdicts"]
        parts.append(f"| {r['recipe']} | {r['layer']} | {r['beat_both']} of {r['units']} | {v['shows']} / "
                     f"{v['does not']} / {v['cannot say']} | {r['auc']:.2f} | {cell(r['median_choice'])} | "
                     f"{cell(r['median_choice_noise'])} | {cell(r['median_choice_others'])} | "
                     f"{cell(r['median_choice_photos'])} | {cell(r['median_path'])} | {cell(r['median_path_noise'])} | "
                     f"{r['noise_path_below_own']} | {r['noise_above_1_beyond_interval']} | {r['seconds']:.0f} |")
    last = result.get("trust_validity_last_maps")
    if last:
        parts += ["", "The same pictures, trials and settings with the judge reading its last maps (head) instead "
                  "of its layer at the unit's depth:", "",
                  "| recipe | layer | judge layer at the unit's depth | beat both: at depth | last maps | "
                  "shows / does not / cannot say: at depth | last maps | AUC: at depth | last maps |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r, m in zip(rows, last):
            v, w = r["verdicts"], m["verdicts"]
            parts.append(f"| {r['recipe']} | {r['layer']} | {r.get('judge_layer', '-')} | {r['beat_both']} of "
                         f"{r['units']} | {m['beat_both']} of {m['units']} | {v['shows']} / {v['does not']} / "
                         f"{v['cannot say']} | {w['shows']} / {w['does not']} / {w['cannot say']} | {r['auc']:.2f} | "
                         f"{m['auc']:.2f} |")
    cost = result.get("trust_trial_seconds")
    if cost:
        parts += ["", f"What the trials cost: the measures alone (no render; every photo a trial shows read and "
                  f"embedded anew) for the 16 units of block8 with their lucid pictures take {cost['50']:.0f} s at 50 "
                  f"trials and {cost['200']:.0f} s at 200 ({cost['ratio_200_to_50']:.2f}x), against "
                  f"{next(r['seconds'] for r in rows if r['layer'] == 'block8' and r['recipe'] == 'lucid'):.0f} s for "
                  "the whole block8 lucid row."]
    noise = result.get("trust_uniform_noise")
    if noise:
        parts += ["", "Uniform noise (three images, seed 0) as the references of block8's units: its path score "
                  "with its 95% interval, and the layers that place it (natural at least 0.1 above chance) where "
                  "the noise stands nearer the top photos' centroids than a top photo does (noise level above "
                  "natural):", "",
                  "| unit | path score of uniform noise | 95% interval | layers: noise / natural / chance |",
                  "| --- | --- | --- | --- |"]
        for n in noise:
            close = [f"{x['layer']} {x['noise']:.2f} / {x['natural']:.2f} / {x['chance']:.2f}" for x in n["layers"]
                     if x["score"] is not None and x["noise"] > x["natural"]]
            interval = n["interval"]
            parts.append(f"| {n['unit']} | {cell(n['score'])} | "
                         f"{'-' if interval is None else f'{interval[0]:.2f} to {interval[1]:.2f}'} | "
                         f"{'; '.join(close) or '-'} |")
    parts += ["", "Units judged each way, each its first picture beside its best photo (`sheets/trust-verdicts.jpg`):",
              "", "![Units judged each way](sheets/trust-verdicts.jpg)", ""]
    return parts
