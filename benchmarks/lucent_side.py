"""Benchmark 2, run inside the Lucent environment: torch-lucent's render_vis against
convscope's lucid recipe, eager and compiled, at equal settings, on the same network (each
run once untimed first: the compiled one compiles there). Prints JSON."""
from __future__ import annotations

import json
import sys

import torch
from lucent.optvis import param, render

import convscope
from convscope.engine.objectives import channel
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render as convscope_render
from convscope.io.builtin_photos import builtin_photos
from convscope.methods.fidelity import photo_maxima
from convscope.models.probe import Probe
from convscope.runtime.compile_settings import compiling

from .harness import WithPreprocessing, alternate, median


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
        objectives = [channel(layer, u) for u in range(units)]
        acts: dict[str, list[float]] = {}

        def lucent() -> None:
            acts["lucent"] = []
            for u in range(units):
                torch.manual_seed(u)
                images = render.render_vis(wrapped, f"{lucent_name}:{u}", param_f=lambda: param.image(128),
                                           thresholds=(steps,), show_image=False, progress=False,
                                           preprocess=False)
                image = torch.from_numpy(images[0]).permute(0, 3, 1, 2)
                acts["lucent"].append(activation(model, layer, u, image))

        def ours(compile: str) -> None:
            with compiling(compile):
                acts[compile] = convscope_render(model, objectives, recipe, batch=units).final.tolist()

        times = alternate(runs, lucent=lucent, convscope=lambda: ours("off"), compiled=lambda: ours("on"))
        unit_steps = units * steps
        rates = {name: unit_steps / median(seconds) for name, seconds in times.items()}

        def rel(values: list[float]) -> float:
            ratios = sorted(a / float(maxima[u]) for u, a in enumerate(values) if maxima[u] > 0)
            return ratios[len(ratios) // 2] if ratios else float("nan")
        rows.append({"layer": layer, "units": units, "steps": steps, "runs": runs,
                     "lucent_unit_steps_per_s": rates["lucent"], "convscope_unit_steps_per_s": rates["convscope"],
                     "speedup": rates["convscope"] / rates["lucent"],
                     "compiled_unit_steps_per_s": rates["compiled"],
                     "compiled_speedup": rates["compiled"] / rates["lucent"],
                     "lucent_median_ratio": rel(acts["lucent"]), "convscope_median_ratio": rel(acts["off"]),
                     "compiled_median_ratio": rel(acts["on"])})
    return rows


if __name__ == "__main__":
    layers, units, steps, runs = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(main(layers, units, steps, runs)))
