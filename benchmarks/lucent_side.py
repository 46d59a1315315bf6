"""Benchmark 2, run inside the Lucent environment: torch-lucent's render_vis against
convscope's lucid recipe at equal settings, on the same network. Prints JSON."""
from __future__ import annotations

import json
import sys
import time

import torch
from lucent.optvis import param, render

import convscope
from convscope.objectives import channel
from convscope.photos import builtin_photos
from convscope.probe import Probe
from convscope.recipes import get_recipe
from convscope.render import render as convscope_render
from convscope.stats import photo_maxima

from .harness import WithPreprocessing


def activation(model, layer: str, unit: int, image: torch.Tensor) -> float:
    with torch.no_grad(), Probe(model, [layer]) as probe:
        return float(probe(image)[layer][0, unit].mean())


def main(layers: list[str], units: int, steps: int, runs: int) -> list[dict]:
    model = convscope.load()
    wrapped = WithPreprocessing(model).eval()
    recipe = get_recipe("lucid", steps=steps, size=128)
    photos = builtin_photos()
    rows = []
    for layer in layers:
        module = model.layer(layer).module
        path = next(name for name, m in model.net.named_modules() if m is module)
        lucent_name = "net_" + path.replace(".", "_")  # Lucent joins module names with "_"
        maxima = photo_maxima(model, layer, photos)
        times = {"lucent": [], "convscope": []}
        lucent_acts, ours_acts = [], []
        for _ in range(runs):
            start = time.perf_counter()
            lucent_acts = []
            for u in range(units):
                torch.manual_seed(u)
                images = render.render_vis(wrapped, f"{lucent_name}:{u}", param_f=lambda: param.image(128),
                                           thresholds=(steps,), show_image=False, progress=False,
                                           preprocess=False)
                image = torch.from_numpy(images[0]).permute(0, 3, 1, 2)
                lucent_acts.append(activation(model, layer, u, image))
            times["lucent"].append(time.perf_counter() - start)
            start = time.perf_counter()
            result = convscope_render(model, [channel(layer, u) for u in range(units)], recipe, batch=units)
            times["convscope"].append(time.perf_counter() - start)
            ours_acts = result.final.tolist()
        unit_steps = units * steps
        lucent_rate = unit_steps / sorted(times["lucent"])[len(times["lucent"]) // 2]
        ours_rate = unit_steps / sorted(times["convscope"])[len(times["convscope"]) // 2]

        def rel(acts: list[float]) -> float:
            ratios = sorted(a / float(maxima[u]) for u, a in enumerate(acts) if maxima[u] > 0)
            return ratios[len(ratios) // 2] if ratios else float("nan")
        rows.append({"layer": layer, "units": units, "steps": steps, "runs": runs,
                     "lucent_unit_steps_per_s": lucent_rate, "convscope_unit_steps_per_s": ours_rate,
                     "speedup": ours_rate / lucent_rate, "lucent_median_ratio": rel(lucent_acts),
                     "convscope_median_ratio": rel(ours_acts)})
    return rows


if __name__ == "__main__":
    layers, units, steps, runs = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(main(layers, units, steps, runs)))
