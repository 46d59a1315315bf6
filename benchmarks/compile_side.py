"""Compiled render steps beside eager ones, in one process: the first compiled render (with an
empty inductor cache, so it includes compiling), then eager and compiled renders alternated;
the pictures of both compared. ``python -m benchmarks.compile_side`` prints the rows as JSON."""
from __future__ import annotations

import json
import sys
import time

import torch

import convscope
from convscope.engine.objectives import channel
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.runtime.compile_settings import compiling

from .harness import alternate, median
from .speed import random_vgg16

SEED = 0


def compile_row(model, layer: str, recipe: str, units: int, steps: int, runs: int) -> dict:
    objectives = [channel(layer, u) for u in range(units)]
    rec = get_recipe(recipe, steps=steps)
    results = {}

    def run(mode: str) -> None:
        with compiling(mode):
            results[mode] = render(model, objectives, rec, seeds=[SEED + u for u in range(units)], batch=units)

    torch._dynamo.reset()
    start = time.perf_counter()
    run("on")
    first = time.perf_counter() - start
    times = alternate(runs, eager=lambda: run("off"), compiled=lambda: run("on"))
    eager, compiled = median(times["eager"]), median(times["compiled"])
    diff = max(float((a.to_tensor() - b.to_tensor()).abs().max())
               for a, b in zip(results["off"].pictures, results["on"].pictures))
    unit_steps = units * steps
    return {"model": model.name, "layer": layer, "recipe": recipe, "units": units, "steps": steps,
            "eager_s_per_unit_step": eager / unit_steps, "compiled_s_per_unit_step": compiled / unit_steps,
            "speedup": eager / compiled, "first_compiled_s": first, "compile_s": first - compiled,
            "max_pixel_diff": diff * 255}


def relu6_with_gradient(runs: int = 20) -> dict:
    """Milliseconds of one ReLU6 forward whose input needs a gradient (a block's activation,
    32 x 144 x 32 x 32), eager and compiled: the compiled one also stores the backward's mask
    of clipped values as bools, as the slowest kernels of the compiled blocks do."""
    x = torch.randn(32, 144, 32, 32).to(memory_format=torch.channels_last).requires_grad_()
    eager = torch.nn.functional.relu6
    compiled = torch.compile(eager, dynamic=False)

    def per_call(fn) -> float:
        fn(x)
        start = time.perf_counter()
        for _ in range(runs):
            fn(x)
        return (time.perf_counter() - start) / runs * 1e3
    measured: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(3):  # alternated
        measured["eager"].append(per_call(eager))
        measured["compiled"].append(per_call(compiled))
    return {"eager_ms": median(measured["eager"]), "compiled_ms": median(measured["compiled"])}


def main(quick: bool) -> dict:
    lite0 = convscope.load()
    runs = 1 if quick else 2
    rows = [compile_row(lite0, "block8", "keras2016", 32, 20, runs),
            compile_row(lite0, "head", "keras2016", 32, 20, runs),
            compile_row(lite0, "block8", "lucid", 8, 32 if quick else 64, runs)]
    rows.append(compile_row(random_vgg16(), "conv3_3", "keras2016", 4, 20, runs))
    return {"rows": rows, "relu6": relu6_with_gradient()}


if __name__ == "__main__":
    print(json.dumps(main(len(sys.argv) > 1 and sys.argv[1] == "quick")))
