"""Benchmark 9, run inside the bench environment (DreamLens is installed there): DreamLens
0.1.1's ``maximize`` and ``maco`` against convscope's ``lucid`` and ``maco`` on the same
efficientnet-lite0 units and classes, at equal steps, image size, network input size and
crops. Prints JSON; writes a contact sheet per method.

Every picture is judged the same way: resized to the size the network saw during the
optimization (the picture itself for lucid and maximize, the crops' size for maco), the
unit's channel mean over the best of the built-in photos. Class pictures are shown to
efficientnet-lite2 and -lite1 at their input size.

Speed: after the pictures' runs, each method's call at ``timing`` steps runs once untimed
and then in ``rounds`` alternated timed rounds (median and range). In this shared process
convscope's renders switch on its kept-freed-memory setting (``convscope.runtime.heap``) for
DreamLens too; DreamLens's ``maximize`` is therefore also timed in a process of its own,
where convscope only loads the network, as DreamLens's users run it.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from dreamlens import FeatureTarget, FeatureVisualizer, MacoConfig, RenderConfig

import convscope
from convscope.engine.objectives import channel, class_logit
from convscope.engine.recipe_settings import RECIPE_USES
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.io.builtin_photos import builtin_photos
from convscope.io.picture import Picture, column, labelled, row
from convscope.methods.class_models import opinion
from convscope.methods.fidelity import photo_maxima
from convscope.models.probe import Probe

from .harness import WithPreprocessing, alternate

CLASSES = [1, 65, 207, 309, 417, 949]
LAYERS = ("block8", "head")


def module_path(model: convscope.models.VisionModel, layer: str) -> str:
    module = model.layer(layer).module
    return "net." + next(name for name, m in model.net.named_modules() if m is module)


def chosen_units(maxima: torch.Tensor, count: int) -> list[int]:
    """The first ``count`` units that some built-in photo drives above 0 (so a ratio means something)."""
    return [u for u in range(len(maxima)) if maxima[u] > 0][:count]


def seen(images: torch.Tensor, size: int) -> torch.Tensor:
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def unit_ratios(model, layer: str, units: list[int], images: torch.Tensor, size: int, maxima) -> list[float]:
    with torch.no_grad(), Probe(model, [layer]) as probe:
        acts = probe(seen(images, size))[layer]
    return [float(acts[i, u].mean()) / float(maxima[u]) for i, u in enumerate(units)]


def centre_share(maps: torch.Tensor) -> float:
    """The median share of each map's mass in the central quarter of its picture."""
    shares = []
    for m in maps:
        h, w = m.shape[-2:]
        shares.append(float(m[..., h // 4:h - h // 4, w // 4:w - w // 4].sum() / m.sum()))
    return sorted(shares)[len(shares) // 2]


def median(values: Sequence[float]) -> float:
    """The upper median (the value at half the count, sorted)."""
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def timing_calls(vis, model, path: str, ids: list[int], objectives: list, lucid, maco, render_config: RenderConfig,
                 maco_config: MacoConfig, timing: int) -> dict:
    """The four methods' calls at ``timing`` steps, for alternated timed rounds."""
    maximize_t = RenderConfig(width=render_config.width, height=render_config.height, steps=timing)
    maco_t = MacoConfig(width=maco_config.width, height=maco_config.height, input_shape=maco_config.input_shape,
                        steps=timing, crops=maco_config.crops, noise_intensity=maco_config.noise_intensity)
    lucid_t, ours_maco_t = get_recipe(lucid, steps=timing), get_recipe(maco, steps=timing)
    return {"dreamlens maximize": lambda: vis.maximize_channels(path, ids, config=maximize_t),
            "dreamlens maco": lambda: [vis.maco(FeatureTarget.for_channel(path, i), config=maco_t) for i in ids],
            "convscope lucid": lambda: render(model, objectives, lucid_t, batch=len(ids)),
            "convscope maco": lambda: render(model, objectives, ours_maco_t, batch=len(ids))}


def peer_alone(layers: dict[str, list[int]], steps: int, rounds: int) -> dict:
    """DreamLens's ``maximize_channels`` as its users run it: in a process where convscope only
    loaded the network (no render, so none of convscope's process-wide settings), one untimed
    call, then ``rounds`` timed ones; unit-steps/s per layer (median and range)."""
    model = convscope.load()
    vis = FeatureVisualizer(WithPreprocessing(model).eval(), quiet=True, normalize=False)
    config = RenderConfig(width=128, height=128, steps=steps)
    rates = {}
    for layer, ids in layers.items():
        path = module_path(model, layer)
        vis.maximize_channels(path, ids, config=config)
        measured = []
        for _ in range(rounds):
            start = time.perf_counter()
            vis.maximize_channels(path, ids, config=config)
            measured.append(len(ids) * steps / (time.perf_counter() - start))
        rates[layer] = {"median": median(measured), "range": [min(measured), max(measured)]}
    return rates


def main(units: int, steps: int, sheets: Path, timing: int, rounds: int) -> dict:
    model = convscope.load()
    checkers = [convscope.load("efficientnet-lite2"), convscope.load("efficientnet-lite1")]
    maco = get_recipe("maco", steps=steps)
    lucid = get_recipe("lucid", steps=steps)
    view = maco.view_hw(model.input_size)[0]
    side = maco.hw[0]
    vis = FeatureVisualizer(WithPreprocessing(model).eval(), quiet=True, normalize=False)
    maco_config = MacoConfig(width=side, height=side, input_shape=(3, view, view), steps=steps, crops=maco.views,
                             noise_intensity=maco.settings["noise"])
    render_config = RenderConfig(width=lucid.hw[0], height=lucid.hw[0], steps=steps)
    rows: list[dict[str, Any]] = []
    methods = ("dreamlens maximize", "dreamlens maco", "convscope lucid", "convscope maco")
    pictures: dict[str, list[Picture]] = {m: [] for m in methods}
    sizes = {"dreamlens maximize": lucid.hw[0], "convscope lucid": lucid.hw[0], "dreamlens maco": view,
             "convscope maco": view}
    photos = builtin_photos()
    targets = [(layer, None) for layer in LAYERS] + [("logits", CLASSES)]
    chosen_ids: dict[str, list[int]] = {}
    for layer, fixed in targets:
        maxima = photo_maxima(model, layer, photos)
        ids = fixed or chosen_units(maxima, units)
        chosen_ids[layer] = ids
        path = module_path(model, layer)
        objectives = [class_logit(c) for c in ids] if fixed else [channel(layer, u) for u in ids]
        images, maps = {}, {}
        result = vis.maximize_channels(path, ids, config=render_config)
        images["dreamlens maximize"] = result.as_nchw().clamp(0, 1)
        runs = [vis.maco(FeatureTarget.for_channel(path, i), config=maco_config) for i in ids]
        images["dreamlens maco"] = torch.stack([r.as_chw() for r in runs]).clamp(0, 1)
        maps["dreamlens maco"] = torch.stack([r.transparency_chw().sum(dim=0) for r in runs])
        # class pictures with the settings classviz gives them (maco's crops shrink over the steps)
        maco_here = get_recipe(maco, crop_scale_end=RECIPE_USES["maco"].class_crop_scale_end) if fixed else maco
        for name, recipe in (("convscope lucid", lucid), ("convscope maco", maco_here)):
            ours = render(model, objectives, recipe, batch=len(ids))
            images[name] = ours.images
            maps[name] = torch.stack([torch.from_numpy(p.importance) for p in ours.pictures])
        timed = timing_calls(vis, model, path, ids, objectives, lucid, maco_here, render_config, maco_config, timing)
        seconds = alternate(rounds, **timed)
        for method, batch in images.items():
            rates = sorted(len(ids) * timing / t for t in seconds[method])
            entry: dict[str, Any] = {
                "layer": layer, "method": method, "targets": len(ids), "steps": steps, "timing_steps": timing,
                "rounds": rounds, "unit_steps_per_s": median(rates), "unit_steps_per_s_range": [rates[0], rates[-1]]}
            if method in maps:
                entry["importance_centre_share"] = centre_share(maps[method])
            if fixed:
                ranks = [opinion(checkers[0], img, c).rank for img, c in zip(batch, ids)]
                entry["lite2_ranks"], entry["lite2_median_rank"] = ranks, median(ranks)
                entry["lite2_median_probability"] = median([opinion(checkers[0], img, c).probability
                                                            for img, c in zip(batch, ids)])
                entry["lite1_median_rank"] = median([opinion(checkers[1], img, c).rank for img, c in zip(batch, ids)])
            else:
                ratios = unit_ratios(model, layer, ids, batch, sizes[method], maxima)
                entry.update({"median_ratio": median(ratios), "min_ratio": min(ratios),
                              "above_best_photo": sum(r > 1 for r in ratios)})
            rows.append(entry)
            tiles = [Picture.from_tensor(seen(img[None], 128)[0]) for img in batch]
            pictures[method].append(labelled(row(tiles), f"{method}, {layer}: {', '.join(map(str, ids))}"))
    sheets.mkdir(parents=True, exist_ok=True)
    written = {}
    for method, parts in pictures.items():
        sheet = sheets / f"modern-{method.replace(' ', '-')}.png"
        column(parts).save(sheet)
        written[method] = f"{sheets.name}/{sheet.name}"
    alone_ids = {r["layer"]: chosen_ids[r["layer"]] for r in rows if r["method"] == "dreamlens maximize"
                 and r["layer"] != "logits"}
    alone = subprocess.run([sys.executable, "-m", "benchmarks.modern_side", "alone", json.dumps(alone_ids), str(timing),
                            str(rounds)], capture_output=True, text=True, check=True)
    settings = {"maco": maco.as_dict(), "lucid": lucid.as_dict(), "view": view,
                "maco_classes_crop_scale_end": RECIPE_USES["maco"].class_crop_scale_end,
                "dreamlens_maco": {"width": side, "input": view, "crops": maco.views, "noise": maco.settings["noise"],
                                   "box_size": "from 0.5 to 0.05 of the side, shrinking over the steps"},
                "dreamlens_maximize": {"width": lucid.hw[0], "steps": steps, "lr": render_config.lr}}
    return {"rows": rows, "sheets": written, "settings": settings,
            "dreamlens_alone": json.loads(alone.stdout.strip().splitlines()[-1])}


if __name__ == "__main__":
    if sys.argv[1] == "alone":
        print(json.dumps(peer_alone(json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))))
    else:
        print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]),
                              int(sys.argv[5]))))
