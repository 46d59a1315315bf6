"""Benchmark 2, run inside the Lucent environment: torch-lucent's render_vis against
convscope's lucid recipe, eager and compiled, at equal settings, on the same network (each
call once untimed first, the compiled one compiles there, then alternated timed rounds).
With ``alone`` first, times Lucent by itself, as its users run it: in a process where
convscope only loads the network (none of its process-wide settings are on). Prints JSON."""
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


def lucent_name_of(model, layer: str) -> str:
    """The name Lucent gives a layer's module (it joins module names with "_")."""
    module = model.layer(layer).module
    return "net_" + next(name for name, m in model.net.named_modules() if m is module).replace(".", "_")


def lucent_images(wrapped: torch.nn.Module, name: str, units: int, steps: int) -> list[torch.Tensor]:
    """Lucent's pictures of units 0 .. units-1 of the layer ``name``, one call each."""
    images = []
    for u in range(units):
        torch.manual_seed(u)
        out = render.render_vis(wrapped, f"{name}:{u}", param_f=lambda: param.image(128), thresholds=(steps,),
                                show_image=False, progress=False, preprocess=False)
        images.append(torch.from_numpy(out[0]).permute(0, 3, 1, 2))
    return images


def alone(layers: list[str], units: int, steps: int, runs: int) -> dict:
    """Lucent's unit-steps/s per layer in this process of its own: one untimed call, then
    ``runs`` timed ones (median and range)."""
    model = convscope.load()
    wrapped = WithPreprocessing(model).eval()
    rates = {}
    for layer in layers:
        name = lucent_name_of(model, layer)
        times = alternate(runs, lucent=lambda: lucent_images(wrapped, name, units, steps))["lucent"]
        measured = [units * steps / t for t in times]
        rates[layer] = {"median": median(measured), "range": [min(measured), max(measured)]}
    return rates


def main(layers: list[str], units: int, steps: int, runs: int) -> list[dict]:
    model = convscope.load()
    wrapped = WithPreprocessing(model).eval()
    recipe = get_recipe("lucid", steps=steps, size=128)
    photos = builtin_photos()
    rows = []
    for layer in layers:
        lucent_name = lucent_name_of(model, layer)
        maxima = photo_maxima(model, layer, photos)
        objectives = [channel(layer, u) for u in range(units)]
        acts: dict[str, list[float]] = {}

        def lucent() -> None:
            acts["lucent"] = [activation(model, layer, u, image)
                              for u, image in enumerate(lucent_images(wrapped, lucent_name, units, steps))]

        def ours(compile: str) -> None:
            with compiling(compile):
                acts[compile] = convscope_render(model, objectives, recipe, batch=units).final.tolist()

        times = alternate(runs, lucent=lucent, convscope=lambda: ours("off"), compiled=lambda: ours("on"))
        unit_steps = units * steps
        rates = {name: unit_steps / median(seconds) for name, seconds in times.items()}
        ranges = {name: [unit_steps / max(seconds), unit_steps / min(seconds)] for name, seconds in times.items()}

        def rel(values: list[float]) -> float:
            ratios = sorted(a / float(maxima[u]) for u, a in enumerate(values) if maxima[u] > 0)
            return ratios[len(ratios) // 2] if ratios else float("nan")
        rows.append({"layer": layer, "units": units, "steps": steps, "runs": runs,
                     "lucent_unit_steps_per_s": rates["lucent"], "convscope_unit_steps_per_s": rates["convscope"],
                     "lucent_range": ranges["lucent"], "convscope_range": ranges["convscope"],
                     "speedup": rates["convscope"] / rates["lucent"],
                     "compiled_unit_steps_per_s": rates["compiled"],
                     "compiled_speedup": rates["compiled"] / rates["lucent"],
                     "lucent_median_ratio": rel(acts["lucent"]), "convscope_median_ratio": rel(acts["off"]),
                     "compiled_median_ratio": rel(acts["on"])})
    return rows


if __name__ == "__main__":
    by_itself = sys.argv[1] == "alone"
    args = sys.argv[2:] if by_itself else sys.argv[1:]
    layers, units, steps, runs = args[0].split(","), int(args[1]), int(args[2]), int(args[3])
    print(json.dumps(alone(layers, units, steps, runs) if by_itself else main(layers, units, steps, runs)))
