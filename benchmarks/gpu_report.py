"""The GPU section of BENCHMARKS.md, from what ``python -m benchmarks.gpu`` wrote."""
from __future__ import annotations

from typing import Callable

Table = Callable[[list[dict], list[tuple[str, str, str]]], str]


def gpu_markdown(g: dict | None, table: Table) -> list[str]:
    """Lines of the GPU section; a short notice when no GPU run was merged."""
    parts = ["## 7. GPU", ""]
    if not g:
        return parts + ["Not measured yet: run `python -m benchmarks.gpu --out gpu.json` on a machine with a "
                        "CUDA GPU, then `python -m benchmarks --gpu-results gpu.json` here.", ""]
    peaks = g["peaks_tflops"]
    parts += [f"{g['device']}; {g['machine']}. Produced by `python -m benchmarks.gpu` in {g['seconds']:.0f} s"
              + (" (a CPU smoke run: the numbers say nothing about a GPU)" if g.get("smoke") else "") + ".", "",
              "Measured matmul peak (8192 x 8192 x 8192 on a GPU): " + ", ".join(f"{k} {v:.1f} TFLOP/s" for k, v in peaks.items())
              + ".", ""]
    parts += ["### The vgg16 conv-layer atlas", "",
              "Whole atlas time from each layer's measured seconds per unit-step (random weights, 128 px, "
              "every filter of conv1_1 to conv5_3):", "",
              table(g["atlas_totals"], [("precision", "precision", ""), ("recipe", "recipe", ""),
                                        ("filters", "filters", ""), ("steps", "steps", ""), ("batch", "batch", ""),
                                        ("estimated s", "estimate_s", ".0f")]), ""]
    if g.get("atlas_real"):
        r = g["atlas_real"]
        parts += [f"A real `build_atlas` of the same {r['filters']} filters at {r['steps']} steps "
                  f"({r['precision']}, batch {r['batch']}, pictures, records and site written): {r['seconds']:.0f} s.", ""]
    parts += ["### Pictures in each precision", "",
              "efficientnet-lite0 (real weights), lucid recipe at 128 px, pictures judged in float32: median "
              "activation over float32's, and the mean absolute pixel difference (pixels in [0, 1]).", "",
              table(g["fidelity"], [("layer", "layer", ""), ("precision", "precision", ""), ("units", "units", ""),
                                    ("steps", "steps", ""), ("activation ratio", "median_activation_ratio", ".3f"),
                                    ("mean pixel diff.", "mean_abs_pixel_difference", ".4f"),
                                    ("within tolerance", "within_tolerance", "")]), ""]
    ok = [r for r in g["throughput"] if "error" not in r]
    parts += ["### Render-step throughput", "",
              "The lucid recipe's steady-state step through the library (the deepest conv layer: vgg16 conv5_3, "
              "efficientnet-lite0 head), batch = units rendered together; TFLOP/s from the counted FLOPs of the "
              "forward pass and the input gradient.", "",
              table(ok, [("model", "model", ""), ("px", "size", ""), ("weights", "layout", ""),
                         ("precision", "precision", ""), ("batch", "batch", ""),
                         ("unit-steps/s", "unit_steps_per_s", ".0f"), ("TFLOP/s", "tflops", ".1f"),
                         ("of bf16 peak", "fraction_of_bf16_peak", ".0%"),
                         ("of own peak", "fraction_of_own_peak", ".0%")]), ""]
    failed = [r for r in g["throughput"] if "error" in r]
    if failed:
        parts += ["Did not fit: " + "; ".join(f"{r['model']} {r['size']} px batch {r['batch']} {r['precision']} "
                                              f"({r['error']})" for r in failed) + ".", ""]
    if g.get("profile"):
        parts += ["### Where a step's time goes", ""] + profile_markdown(g["profile"], table)
    if g.get("compile"):
        parts += ["### The compiled render step (`--compile on`)", "",
                  table(g["compile"], [("model", "model", ""), ("layer", "layer", ""), ("recipe", "recipe", ""),
                                       ("batch", "batch", ""), ("steps", "steps", ""),
                                       ("eager s/unit-step", "eager_s_per_unit_step", ".5f"),
                                       ("compiled s/unit-step", "compiled_s_per_unit_step", ".5f"),
                                       ("speed-up", "speedup", ".2f"), ("compile s", "compile_s", ".0f")]), ""]
    if g.get("maco"):
        parts += ["### The maco recipe's step", "",
                  "Seconds per unit-step at each recipe's defaults (lucid: 128 px; maco: 256 px pictures, 4 crops "
                  "per unit seen at 128 px), steady state:", "",
                  table(g["maco"], [("model", "model", ""), ("layer", "layer", ""), ("recipe", "recipe", ""),
                                    ("batch", "batch", ""), ("s per unit-step", "s_per_unit_step", ".5f")]), ""]
    if g.get("syncs"):
        parts += ["Times a render step waits for the device (CUDA's sync debug mode; efficientnet-lite0 block8, "
                  "8 units; set-up and the final pictures excluded): "
                  + ", ".join(f"{r['recipe']} {r['syncs_per_step']:g}" for r in g["syncs"]) + ".", ""]
    if g.get("exemplars"):
        e = g["exemplars"]
        parts += ["### Dataset examples", "",
                  f"`convscope exemplars` over {e['photos']} generated 500 x 375 JPEGs, every conv layer of "
                  f"efficientnet-lite0, batch {e['batch']}, {e['workers']} decoding workers: {e['seconds']:.1f} s, "
                  f"{e['photos_per_s']:.0f} photos/s; ImageNet's 50,000 validation photos would take about "
                  f"{e['imagenet_val_estimate_s'] / 60:.1f} minutes.", ""]
    if g.get("recommended"):
        rec = g["recommended"]
        parts += [f"Fastest settings that keep pictures within tolerance (at batch {rec['batch']}): precision "
                  f"{rec['precision']}, {rec['layout']} weights.", ""]
    if g.get("skipped"):
        parts += [f"Not measured within the time budget: {', '.join(g['skipped'])}.", ""]
    return parts


def profile_markdown(profiles: list[dict], table: Table) -> list[str]:
    """One small table per profiled step: its operators by share of the time."""
    parts = []
    for p in profiles:
        parts += [f"{p['model']} {p['layer']}, batch {p['batch']}, {p['size']} px, {p['precision']} "
                  f"({p['clock']} time):", "",
                  table(p["top"], [("operator", "op", ""), ("share", "share", ".0%"), ("ms", "ms", ".0f")]), ""]
    return parts
