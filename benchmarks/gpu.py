"""``python -m benchmarks.gpu``: the GPU benchmark, one script that fits in a few minutes.

On the first CUDA device (``--device cpu`` runs a small smoke version anywhere) it measures:

1. the device's own matmul peak (8192 x 8192 x 8192) in float32, TF32 and bfloat16;
2. the vgg16 conv-layer atlas (4,224 filters): per-layer unit-step times of each recipe,
   and the whole atlas's time from them;
3. fidelity: each precision's pictures against float32's (efficientnet-lite0, real weights);
4. steady-state unit-steps/s and achieved TFLOP/s of the library's render step for vgg16
   (random weights) and efficientnet-lite0, at 128 and 224 px, batch 1 to 256, in float32,
   TF32 and bfloat16 autocast, with channels_last and contiguous weights;
5. a profile of the render step (vgg16 at 224 px, efficientnet-lite0 at 128 px, batch 64);
6. the library's compiled render step (``--compile on``) against eager, both recipes;
7. one real ``convscope.atlas`` of every vgg16 conv filter at a few steps (writing included);
8. the maco recipe's step (views per unit) for efficientnet-lite0 and vgg16, beside lucid's;
9. how often a render step waits for the device (CUDA's sync debug mode), for each recipe;
10. ``convscope exemplars`` over a timed slice of generated photos, every conv layer of
   efficientnet-lite0, and the 50,000-photo ImageNet validation pass estimated from it.

Sections run in that order until ``--budget-s`` is spent; what did not fit is listed.
The JSON goes to ``--out``; ``python -m benchmarks --gpu-results FILE`` puts it into BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

import convscope
from convscope.engine.objectives import channel, channel_scores
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.models.base import VisionModel
from convscope.models.probe import Probe
from convscope.runtime.compile_settings import compiling

from .harness import machine
from .profile_step import profile_step
from .speed import random_vgg16

PRECISIONS = ("float32", "tf32", "bfloat16")
VGG16_CONV = ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
              "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3"]
DEEPEST = {"vgg16": "conv5_3", "efficientnet-lite0": "head"}
TOLERANCE = 0.97  # a precision keeps pictures when their median activation is >= 97% of float32's


def precisions_on(device: torch.device) -> list[str]:
    """The precisions measured on ``device`` (TF32 is CUDA's alone)."""
    return [p for p in PRECISIONS if device.type == "cuda" or p != "tf32"]


class Budget:
    """Seconds left for the run; sections check it before each measurement."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.skipped: list[str] = []

    def allows(self, what: str) -> bool:
        if time.monotonic() < self.end:
            return True
        self.skipped.append(what)
        return False


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peaks(device: torch.device, n: int) -> dict[str, float]:
    """TFLOP/s of an n x n x n matmul in each precision (mean of 10 after 3 warm-ups)."""
    peaks = {}
    for name in PRECISIONS:
        dtype = torch.bfloat16 if name == "bfloat16" else torch.float32
        a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
        previous = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = name == "tf32"
        try:
            for _ in range(3):
                a @ b
            sync(device)
            start = time.perf_counter()
            for _ in range(10):
                a @ b
            sync(device)
        finally:
            torch.backends.cuda.matmul.allow_tf32 = previous
        peaks[name] = 2 * n ** 3 * 10 / (time.perf_counter() - start) / 1e12
    return peaks


def flops_per_unit_step(model: VisionModel, layer: str, size: int) -> float:
    """FLOPs of one image's forward to ``layer`` and its input gradient."""
    x = torch.rand(1, 3, size, size, device=model.device, requires_grad=True)
    with FlopCounterMode(display=False) as counter, Probe(model, [layer]) as probe:
        probe(x)[layer][:, 0].mean().backward()
    return float(counter.get_total_flops())


def seconds_per_step(model: VisionModel, layer: str, units: list[int], recipe: str, size: int,
                     steps: tuple[int, int]) -> float:
    """Steady-state seconds of one render step of ``units``: the time of ``steps[1]`` steps less
    that of ``steps[0]``, so set-up and the final pictures cancel out."""
    times = []
    objectives = [channel(layer, u) for u in units]
    for count in (steps[0], *steps):  # the first run warms up
        rec = get_recipe(recipe, size=size, steps=count)
        sync(model.device)
        start = time.perf_counter()
        render(model, objectives, rec, seeds=units, batch=len(units))
        sync(model.device)
        times.append(time.perf_counter() - start)
    return max(times[2] - times[1], 1e-9) / (steps[1] - steps[0])


def units_of(model: VisionModel, layer: str, batch: int) -> list[int]:
    """``batch`` units of ``layer``, cycling through its channels when it has fewer."""
    return [u % model.layers[layer].channels for u in range(batch)]


def atlas_section(vgg: VisionModel, budget: Budget, layers: list[str], batch: int, steps: tuple[int, int]
                  ) -> dict:
    """Per-layer unit-step times of each recipe and precision, and the whole atlas from them."""
    rows: list[dict[str, Any]] = []
    for precision in ("auto", "bfloat16"):
        vgg.set_precision(precision)
        for recipe in ("keras2016", "lucid"):
            for layer in layers:
                if not budget.allows(f"atlas {precision} {recipe} {layer}"):
                    continue
                s = seconds_per_step(vgg, layer, units_of(vgg, layer, batch), recipe, 128, steps)
                rows.append({"precision": vgg.effective_precision, "recipe": recipe, "layer": layer,
                             "channels": vgg.layers[layer].channels, "s_per_unit_step": s / batch})
    totals = []
    for precision in {r["precision"] for r in rows}:
        for recipe in ("keras2016", "lucid"):
            mine = [r for r in rows if r["precision"] == precision and r["recipe"] == recipe]
            if len(mine) == len(layers):
                unit_steps = get_recipe(recipe).steps
                totals.append({"precision": precision, "recipe": recipe, "filters": sum(r["channels"] for r in mine),
                               "steps": unit_steps, "batch": batch,
                               "estimate_s": sum(r["channels"] * unit_steps * r["s_per_unit_step"] for r in mine)})
    vgg.set_precision("auto")
    return {"atlas_layers": rows, "atlas_totals": totals}


def real_atlas(vgg: VisionModel, layers: list[str], batch: int, steps: int) -> dict:
    """A real ``convscope.atlas`` of every filter of ``layers`` at ``steps`` steps, writing included."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = convscope.atlas(vgg, out, recipe=convscope.get_recipe("lucid", steps=steps, size=128),
                                  layers=layers, batch=batch)
        return {"filters": summary.rendered, "steps": steps, "batch": batch,
                "precision": vgg.effective_precision, "seconds": time.perf_counter() - start}


def fidelity_section(lite0: VisionModel, budget: Budget, units: int, steps: int) -> list[dict]:
    """Each precision's lucid pictures against float32's, both judged in float32."""
    rows: list[dict[str, Any]] = []
    for layer in ("block8", "head"):
        if not budget.allows(f"fidelity {layer}"):
            continue
        chosen = list(range(units))
        rec = get_recipe("lucid", steps=steps)
        images = {}
        for precision in precisions_on(lite0.device):
            lite0.set_precision(precision)
            images[precision] = render(lite0, [channel(layer, u) for u in chosen], rec, seeds=chosen).images
        lite0.set_precision("float32")
        with torch.no_grad(), lite0.math_mode(), Probe(lite0, [layer]) as probe:
            reached = {p: channel_scores(probe(im.to(lite0.device))[layer], chosen) for p, im in images.items()}
        for precision, act in reached.items():
            ratios = (act / reached["float32"]).sort().values
            rows.append({"layer": layer, "precision": precision, "units": units, "steps": steps,
                         "median_activation_ratio": float(ratios[len(ratios) // 2]),
                         "mean_abs_pixel_difference": float((images[precision] - images["float32"]).abs().mean()),
                         "within_tolerance": bool(ratios[len(ratios) // 2] >= TOLERANCE)})
    lite0.set_precision("auto")
    return rows


def throughput_section(models: dict[str, VisionModel], budget: Budget, sizes: list[int], batches: list[int],
                       steps: tuple[int, int], peaks: dict[str, float]) -> list[dict]:
    """Unit-steps/s and TFLOP/s of the lucid render step in every precision and weight layout."""
    rows: list[dict[str, Any]] = []
    for name, model in models.items():
        layer = DEEPEST[name]
        for size in sizes:
            flops = flops_per_unit_step(model, layer, size)
            for layout in ("channels_last", "contiguous"):
                model.net.to(memory_format=torch.channels_last if layout == "channels_last"  # type: ignore[call-overload]
                             else torch.contiguous_format)
                for precision in precisions_on(model.device):
                    model.set_precision(precision)
                    for batch in batches:
                        what = f"{name} {size}px {layout} {precision} batch {batch}"
                        if not budget.allows(what):
                            continue
                        row = {"model": name, "layer": layer, "size": size, "layout": layout,
                               "precision": precision, "batch": batch, "gflop_per_unit_step": flops / 1e9}
                        try:
                            s = seconds_per_step(model, layer, units_of(model, layer, batch), "lucid", size, steps)
                        except torch.OutOfMemoryError:
                            torch.cuda.empty_cache()
                            rows.append({**row, "error": "out of memory"})
                            continue
                        tflops = flops * batch / s / 1e12
                        rows.append({**row, "unit_steps_per_s": batch / s, "tflops": tflops,
                                     "fraction_of_bf16_peak": tflops / peaks["bfloat16"],
                                     "fraction_of_own_peak": tflops / peaks[precision]})
            model.net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
            model.set_precision("auto")
    return rows


def compile_section(models: dict[str, VisionModel], layers: dict[str, str], budget: Budget, batch: int,
                    steps: int) -> list[dict]:
    """The library's render step with ``--compile on`` against eager (bfloat16, both recipes):
    the first compiled render (compiling included), then steady-state seconds per unit-step."""
    from convscope.engine.objectives import channel
    from convscope.engine.recipes import get_recipe
    from convscope.engine.render import render

    rows: list[dict[str, Any]] = []
    for name, model in models.items():
        for recipe in ("keras2016", "lucid"):
            if not budget.allows(f"compile {name} {recipe}"):
                continue
            model.set_precision("bfloat16")
            layer = layers[name]
            objectives = [channel(layer, u) for u in range(batch)]
            rec = get_recipe(recipe, steps=steps)

            def run(mode: str) -> float:
                sync(model.device)
                start = time.perf_counter()
                with compiling(mode):
                    render(model, objectives, rec, batch=batch)
                sync(model.device)
                return time.perf_counter() - start

            first = run("on")
            timing = {mode: min(run(mode) for _ in range(2)) for mode in ("off", "on")}
            unit_steps = batch * steps
            rows.append({"model": name, "layer": layer, "recipe": recipe, "batch": batch, "steps": steps,
                         "precision": "bfloat16", "eager_s_per_unit_step": timing["off"] / unit_steps,
                         "compiled_s_per_unit_step": timing["on"] / unit_steps,
                         "speedup": timing["off"] / timing["on"], "compile_s": first - timing["on"]})
            model.set_precision("auto")
    return rows


def recommend(throughput: list[dict], fidelity: list[dict]) -> dict:
    """The fastest precision and layout at batch 64 (or the largest measured) whose pictures
    stay within tolerance of float32's."""
    failed = {f["precision"] for f in fidelity if not f["within_tolerance"]}
    kept = ({"float32"} | {f["precision"] for f in fidelity}) - failed
    ok = [r for r in throughput if "error" not in r and r["precision"] in kept]
    if not ok:
        return {}
    batch = 64 if any(r["batch"] == 64 for r in ok) else max(r["batch"] for r in ok)
    scores: dict[tuple[str, str], float] = {}
    for (precision, layout) in {(r["precision"], r["layout"]) for r in ok}:
        mine = [r for r in ok if (r["precision"], r["layout"]) == (precision, layout) and r["batch"] == batch]
        if mine:  # geometric mean over models and sizes
            scores[(precision, layout)] = math.exp(sum(math.log(r["unit_steps_per_s"]) for r in mine) / len(mine))
    (precision, layout), _ = max(scores.items(), key=lambda item: item[1])
    return {"precision": precision, "layout": layout, "batch": batch, "kept_precisions": sorted(kept)}


def maco_section(models: dict[str, VisionModel], budget: Budget, batch: int, steps: tuple[int, int]) -> list[dict]:
    """Seconds per unit-step of maco (its defaults: 256 px pictures, 4 crops at 128 px) beside lucid."""
    rows: list[dict[str, Any]] = []
    for name, layer in (("efficientnet-lite0", "block8"), ("efficientnet-lite0", "head"), ("vgg16", "conv4_3")):
        model = models[name]
        for recipe in ("lucid", "maco"):
            if not budget.allows(f"maco {name} {layer} {recipe}"):
                continue
            size = get_recipe(recipe).hw[0]
            s = seconds_per_step(model, layer, units_of(model, layer, batch), recipe, size, steps)
            rows.append({"model": name, "layer": layer, "recipe": recipe, "batch": batch,
                         "s_per_unit_step": s / batch})
    return rows


def syncs_per_step(model: VisionModel, layer: str, recipe: str, batch: int, steps: tuple[int, int] = (2, 6)
                   ) -> float:
    """How often a render step waits for the device: the synchronisations CUDA's debug mode
    reports in a render of ``steps[1]`` steps, less those of one of ``steps[0]`` (set-up and
    final pictures wait, as they must), per extra step. 0 is the aim."""
    counts = []
    for n in steps:
        rec = get_recipe(recipe, steps=n)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                render(model, [channel(layer, u) for u in units_of(model, layer, batch)], rec, batch=batch)
            finally:
                torch.cuda.set_sync_debug_mode("default")
        counts.append(sum("synchroniz" in str(w.message).lower() for w in caught))
    return (counts[1] - counts[0]) / (steps[1] - steps[0])


def syncs_section(lite0: VisionModel, budget: Budget) -> list[dict]:
    """Synchronisations per render step for each recipe (CUDA only)."""
    if lite0.device.type != "cuda" or not budget.allows("syncs per step"):
        return []
    return [{"recipe": recipe, "syncs_per_step": syncs_per_step(lite0, "block8", recipe, 8)}
            for recipe in ("keras2016", "lucid", "maco")]


def exemplars_section(lite0: VisionModel, budget: Budget, photos: int, workers: int, batch: int) -> dict | None:
    """A timed exemplars pass over ``photos`` generated JPEGs, and 50,000 photos estimated from it."""
    from .exemplars_speed import ALL_CONV
    from .photos import augmented_photos

    if not budget.allows("exemplars slice"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        augmented_photos(Path(tmp) / "photos", photos, (500, 375))
        sync(lite0.device)
        start = time.perf_counter()
        convscope.exemplars(lite0, Path(tmp) / "photos", Path(tmp) / "out", ALL_CONV, batch=batch, workers=workers)
        sync(lite0.device)
        seconds = time.perf_counter() - start
    return {"photos": photos, "workers": workers, "batch": batch, "seconds": seconds,
            "photos_per_s": photos / seconds, "imagenet_val_estimate_s": 50000 * seconds / photos}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), or cpu for a smoke run")
    parser.add_argument("--budget-s", type=float, default=360, help="start no measurement after this many seconds")
    parser.add_argument("--out", default="gpu.json", help="where the JSON goes")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA device here; use --device cpu for a smoke run")
    smoke = device.type != "cuda"
    budget = Budget(args.budget_s)
    torch.manual_seed(0)
    started = time.perf_counter()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (smoke run)"
    res: dict = {"device": name, "machine": machine(), "smoke": smoke}

    def note(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {text}", file=sys.stderr, flush=True)

    res["peaks_tflops"] = matmul_peaks(device, 1024 if smoke else 8192)
    note(f"matmul peaks {res['peaks_tflops']}")
    vgg = random_vgg16().to(device)
    lite0 = convscope.load(device=str(device))
    steps = (1, 3) if smoke else (2, 12)
    layers, batch = (VGG16_CONV[:2], 16) if smoke else (VGG16_CONV, 128)
    res.update(atlas_section(vgg, budget, layers, batch, steps))
    note("atlas estimate done")
    res["fidelity"] = fidelity_section(lite0, budget, 4 if smoke else 16, 8 if smoke else 128)
    note("fidelity done")
    models = {"vgg16": vgg, "efficientnet-lite0": lite0}
    res["throughput"] = throughput_section(models, budget, [64] if smoke else [128, 224],
                                           [1, 2] if smoke else [1, 4, 16, 64, 256], steps, res["peaks_tflops"])
    note("throughput done")
    res["profile"] = []
    for model, size, precision in ((vgg, 224, "bfloat16"), (lite0, 128, "auto")):
        if budget.allows(f"profile {model.name}"):
            model.set_precision(precision)
            res["profile"].append(profile_step(model, DEEPEST[model.name], 4 if smoke else 64, 64 if smoke else size))
            model.set_precision("auto")
    note("profile done")
    res["compile"] = compile_section(models, {name: ("conv5_1" if name == "vgg16" else "block8") for name in models},
                                     budget, 4 if smoke else 64, 4 if smoke else 64)
    note("compile done")
    res["atlas_real"] = real_atlas(vgg, layers, batch, 2 if smoke else 16) if budget.allows("real atlas") else None
    note("real atlas done")
    res["maco"] = maco_section(models, budget, 4 if smoke else 64, steps)
    note("maco done")
    res["syncs"] = syncs_section(lite0, budget)
    note("syncs per step done")
    res["exemplars"] = exemplars_section(lite0, budget, 64 if smoke else 4096, 2 if smoke else 14,
                                         16 if smoke else 256)
    note("exemplars done")
    res["recommended"] = recommend(res["throughput"], res["fidelity"])
    res["skipped"] = budget.skipped
    res["seconds"] = time.perf_counter() - started
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    note(f"written {args.out}; recommended {res['recommended']}; skipped {len(budget.skipped)}")


if __name__ == "__main__":
    main()
