"""Benchmark 14: the CPU changes of the render step, each against what it replaced, side by
side. The allocator setting is a whole process's, so those rows run fresh processes
(alternated) with and without it; the padding, the crops and the lucid transforms are
swapped in one process.
``python -m benchmarks.cpu_step [quick]`` prints the rows as JSON."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

import convscope
from convscope.engine.objectives import channel
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.engine.transforms import DrawnNoise, LucidTransforms, RandomCrops, rotate
from convscope.models import efficientnet_lite

from .harness import alternate, median

ROOT = Path(__file__).resolve().parent.parent
RENDER = """
import hashlib, sys, time, convscope, convscope.runtime.heap
from convscope.engine.objectives import channel
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
if sys.argv[1] == "off":
    convscope.runtime.heap.keep_freed_memory = lambda: False
model = convscope.load()
units = [channel("block8", u) for u in range(32)]
start = time.perf_counter()
result = render(model, units, get_recipe("keras2016"), batch=32)
print(time.perf_counter() - start, hashlib.sha256(result.images.numpy().tobytes()).hexdigest())
"""


def padded_copy_forward(self, x: torch.Tensor) -> torch.Tensor:
    """SameConv2d as it was: the odd pixel by copying the input into a padded tensor."""
    pads = []
    for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        pads += [total // 2, total - total // 2]
    if pads[0] == pads[1] and pads[2] == pads[3]:
        return F.conv2d(x, self.weight, self.bias, self.stride, (pads[2], pads[0]), self.dilation, self.groups)
    return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def grid_sample_crops(self, x: torch.Tensor, theta: torch.Tensor, noise) -> torch.Tensor:
    """RandomCrops.apply as it was: grid_sample at twice the size, then 2x2 average pooling."""
    b, c, _h, _w = x.shape
    k, (h, w) = theta.shape[0], self.size
    noise = noise.tensor() if isinstance(noise, DrawnNoise) else noise
    grid = F.affine_grid(theta.to(x), [k, c, 2 * h, 2 * w], align_corners=False)
    views = F.grid_sample(x.reshape(1, b * c, *x.shape[-2:]).expand(k, -1, -1, -1), grid, mode="bilinear",
                          padding_mode="reflection", align_corners=False)
    views = F.avg_pool2d(views, 2).view(k, b, c, h, w) + noise.to(x)[:, None]
    return views.transpose(0, 1).reshape(b * k, c, h, w)


def five_step_lucid(self, x: torch.Tensor, ox: int, oy: int, scale: float, angle: float, ox_after: int,
                    oy_after: int) -> torch.Tensor:
    """LucidTransforms.apply as it was: pad, jitter, antialiased resize, rotate and jitter one
    after another, the network seeing the whole result (126-154 px for a 128 px picture)."""
    x = F.pad(x, (self.pad,) * 4, value=self.fill)
    h, w = x.shape[-2:]
    x = x[..., oy:oy + h - self.jitter, ox:ox + w - self.jitter]
    h, w = x.shape[-2:]
    x = F.interpolate(x, size=(max(1, round(h * scale)), max(1, round(w * scale))), mode="bilinear",
                      align_corners=False, antialias=True)
    x = rotate(x, angle, self.fill) if angle else x
    h, w = x.shape[-2:]
    return x[..., oy_after:oy_after + h - self.jitter_after, ox_after:ox_after + w - self.jitter_after]


def allocator_row(runs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    seconds: dict[str, list[float]] = {}
    digests: set[str] = set()

    def run(mode: str) -> None:
        out = subprocess.run([sys.executable, "-c", RENDER, mode], capture_output=True, text=True, check=True,
                             env=env)
        took, digest = out.stdout.strip().splitlines()[-1].split()
        seconds.setdefault(mode, []).append(float(took))
        digests.add(digest)

    alternate(runs, before=lambda: run("off"), now=lambda: run("on"))
    before, now = median(seconds["off"][1:]), median(seconds["on"][1:])
    return {"change": "freed memory kept (convscope.runtime.heap)", "what": "block8, keras2016, 32 units, 20 steps",
            "before_s": before, "now_s": now, "speedup": before / now,
            "pixels": "identical" if len(digests) == 1 else "differ"}


def swapped_row(model, change: str, what: str, recipe: str, layer: str, units: int, steps: int, cls, attr: str,
                before_impl, runs: int) -> dict:
    now_impl = getattr(cls, attr)
    objectives = [channel(layer, u) for u in range(units)]
    rec = get_recipe(recipe, steps=steps)
    results = {}

    def run(name: str, impl) -> None:
        setattr(cls, attr, impl)
        try:
            results[name] = render(model, objectives, rec, batch=units)
        finally:
            setattr(cls, attr, now_impl)

    times = alternate(runs, before=lambda: run("before", before_impl), now=lambda: run("now", now_impl))
    diff = max(float((a.to_tensor() - b.to_tensor()).abs().max())
               for a, b in zip(results["before"].pictures, results["now"].pictures)) * 255
    before, now = median(times["before"]), median(times["now"])
    return {"change": change, "what": what, "before_s": before, "now_s": now, "speedup": before / now,
            "pixels": "identical" if diff == 0 else f"differ by up to {diff:.0f} levels after {steps} steps"}


def main(quick: bool) -> list[dict]:
    runs = 2 if quick else 4
    model = convscope.load()
    rows = [allocator_row(runs)]
    for layer in ("block8", "head"):
        rows.append(swapped_row(model, "odd padding pixel from a longer kernel (depthwise)",
                                f"{layer}, keras2016, 32 units, 20 steps", "keras2016", layer, 32, 20,
                                efficientnet_lite.SameConv2d, "forward", padded_copy_forward, runs))
    for layer in ("block8", "head"):
        rows.append(swapped_row(model, "maco crops as two matrix products",
                                f"{layer}, maco, 8 units, {8 if quick else 16} steps", "maco", layer, 8,
                                8 if quick else 16, RandomCrops, "apply", grid_sample_crops, runs))
    for layer in ("block8", "head"):
        rows.append(swapped_row(model, "lucid's transforms in one resampling, seen at the picture's size",
                                f"{layer}, lucid, 8 units, {32 if quick else 64} steps", "lucid", layer, 8,
                                32 if quick else 64, LucidTransforms, "apply", five_step_lucid, runs))
    return rows


if __name__ == "__main__":
    print(json.dumps(main(len(sys.argv) > 1 and sys.argv[1] == "quick")))
