"""Run in .venv-extras (timm needs torchvision): unit-steps per second of the lucid recipe at
224 px for timm's vit_small_patch16_224 beside efficientnet-lite0, and a 64-unit grid of a middle
ViT block in one batched run. Prints one JSON line."""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import torch

import convscope

from .harness import alternate, machine, median

SIZE = 224


def random_timm(name: str, folder: Path) -> convscope.models.VisionModel:
    """A timm model with random weights (timing needs no trained ones), loaded through convscope."""
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(0)
    net = timm.create_model(name, pretrained=False)
    path = folder / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return convscope.load(f"timm:{name}", weights=path)


def unit_steps(models: dict[str, tuple[convscope.models.VisionModel, str]], units: int, steps: int,
               runs: int) -> list[dict]:
    recipe = convscope.get_recipe("lucid", steps=steps, size=SIZE)

    def render(model, layer):
        return lambda: convscope.render(model, [f"{layer}:{u}" for u in range(units)], recipe, batch=units)

    times = alternate(runs, **{name: render(m, layer) for name, (m, layer) in models.items()})
    return [{"model": name, "layer": layer, "units": units, "steps": steps, "size": SIZE,
             "unit_steps_per_s": units * steps / median(times[name])} for name, (_m, layer) in models.items()]


def main() -> None:
    units, steps, runs = (int(v) for v in sys.argv[1:4])
    with tempfile.TemporaryDirectory() as folder:
        vit = random_timm("vit_small_patch16_224", Path(folder))
        lite0 = convscope.load()
        rows = unit_steps({"efficientnet-lite0": (lite0, "block8"), "timm:vit_small_patch16_224": (vit, "blocks.6")},
                          units, steps, runs)
        start = time.perf_counter()
        grid = convscope.grid(vit, "blocks.6", candidates=64, top=64, recipe="lucid", steps=steps, size=SIZE,
                                     batch=64)
        grid_s = time.perf_counter() - start
    print(json.dumps({"networks": rows, "vit_grid": {"layer": "blocks.6", "units": 64, "steps": steps,
                                                    "seconds": grid_s, "tiles": len(grid.tiles),
                                                    "s_per_unit_step": grid_s / (64 * steps)},
                      "networks_machine": machine()}))


if __name__ == "__main__":
    main()
