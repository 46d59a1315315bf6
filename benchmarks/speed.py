"""Benchmarks 1 and 3-4: the article's loop against `grid`, DeepDream on a big photo, the atlas."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

import convscope
from convscope.models import vgg
from convscope.models.base import VisionModel
from convscope.runtime.compile_settings import compiling

from .article_loop import article_filter
from .harness import alternate, median, peak_rss_of

SEED = 0


def random_vgg16() -> VisionModel:
    """VGG16's conv layers with random weights, as the article ran it at 128 px (timing needs
    no trained weights)."""
    torch.manual_seed(0)
    net = vgg.VGG(vgg.CONFIGS["vgg16"], classifier=False)
    loaded = vgg.LoadedWeights("random", "caffe", {"as-stored": net.state_dict()}, False)
    return vgg.assemble("vgg16", loaded, net.state_dict(), Path("random weights"), [])


def article_alone(name: str, layer: str, filters: int, rounds: int) -> list[float]:
    """Seconds per filter of the article's loop in a process of its own (``benchmarks.article_alone``)."""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-m", "benchmarks.article_alone", name, layer, str(filters), str(rounds)],
                         capture_output=True, text=True, check=True, cwd=root,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])})
    return json.loads(out.stdout.strip().splitlines()[-1])


def article_vs_grid(model: VisionModel, layer: str, filters: int, runs: int, alone_name: str | None = None) -> dict:
    """Seconds per filter of the article's loop and of `grid --recipe keras2016` (in float32,
    float32 compiled, and bfloat16 autocast), same seeds, each call once untimed (the compiled
    one compiles there) and then ``runs`` alternated rounds; and of the article's loop in a
    process of its own (``alone_name``: the model's name there, default its name)."""
    acts: dict[str, list[float]] = {}

    def baseline() -> None:
        acts["article"] = [article_filter(model, layer, u, SEED) for u in range(filters)]

    def ours(precision: str, compile: str = "off") -> None:
        model.set_precision(precision)
        try:
            with compiling(compile):
                grid = convscope.grid(model, layer, candidates=filters, top=filters, recipe="keras2016",
                                             seed=SEED, batch=filters)
        finally:
            model.set_precision("auto")
        by_channel = {t["channel"]: t["activation"] for t in grid.tiles}
        by_channel.update({d["channel"]: d["activation"] for d in grid.dropped})
        acts[precision if compile == "off" else "compiled"] = [by_channel[u] for u in range(filters)]

    times = alternate(runs, article=baseline, float32=lambda: ours("float32"),
                      compiled=lambda: ours("float32", "on"), bfloat16=lambda: ours("bfloat16"))
    a, c, k, b = (median(times[key]) / filters for key in ("article", "float32", "compiled", "bfloat16"))
    alone = article_alone(alone_name or model.name, layer, filters, runs)
    return {"model": model.name, "layer": layer, "filters": filters, "runs": runs,
            "article_s_per_filter": a, "convscope_s_per_filter": c, "speedup": a / c,
            "article_range": [min(times["article"]) / filters, max(times["article"]) / filters],
            "convscope_range": [min(times["float32"]) / filters, max(times["float32"]) / filters],
            "article_alone_s_per_filter": median(alone), "article_alone_range": [min(alone), max(alone)],
            "speedup_alone": median(alone) / c,
            "compiled_s_per_filter": k, "compiled_speedup": a / k,
            "bf16_s_per_filter": b, "bf16_speedup": a / b,
            "article_mean_activation": sum(acts["article"]) / filters,
            "convscope_mean_activation": sum(acts["float32"]) / filters,
            "compiled_mean_activation": sum(acts["compiled"]) / filters,
            "bf16_mean_activation": sum(acts["bfloat16"]) / filters}


def article_vs_selected_grid(model: VisionModel, layer: str, filters: int, top: int, runs: int) -> dict:
    """The article's loop over ``filters`` filters, keeping its best ``top``, against `grid
    --candidates filters --top top` rendering every candidate (full) and halving, same seeds,
    alternated after one untimed run of each; the activations compared are each side's medians
    of its ``top`` tiles."""
    acts: dict[str, list[float]] = {}

    def baseline() -> None:
        acts["article"] = sorted((article_filter(model, layer, u, SEED) for u in range(filters)), reverse=True)[:top]

    def ours(select: str) -> None:
        grid = convscope.grid(model, layer, candidates=filters, top=top, recipe="keras2016", seed=SEED, select=select)
        acts[select] = [t["activation"] for t in grid.tiles]

    times = alternate(runs, article=baseline, full=lambda: ours("full"), halving=lambda: ours("halving"))
    a, f, h = (median(times[key]) for key in ("article", "full", "halving"))
    return {"model": model.name, "layer": layer, "filters": filters, "top": top, "runs": runs,
            "article_s": a, "full_s": f, "halving_s": h, "full_speedup": a / f, "halving_speedup": a / h,
            "ranges": {key: [min(t), max(t)] for key, t in times.items()},
            "article_median_activation": median(acts["article"]), "full_median_activation": median(acts["full"]),
            "halving_median_activation": median(acts["halving"])}


def dream_big_photo(width: int, height: int, steps: int, octaves: int) -> dict:
    """Time and peak memory of dreaming a photo of width x height, in a fresh process."""
    code = f"""
import time, numpy as np, convscope
from PIL import Image
from convscope.io.builtin_photos import builtin_photo
photo = np.asarray(Image.fromarray(builtin_photo('chelsea').pixels).resize(({width}, {height})))
model = convscope.load()
start = time.perf_counter()
result = convscope.dream(model, photo, octaves={octaves}, steps={steps})
RESULT = {{'seconds': time.perf_counter() - start, 'size': list(result.picture.size)}}
"""
    out = peak_rss_of(code)
    out.update({"photo": f"{width}x{height}", "steps_per_octave": steps, "octaves": octaves})
    return out


def atlas_unit_steps(layers: list[str], steps: int, batch: int) -> list[dict]:
    """Seconds per unit-step of the lucid recipe at 128 px, one full batch per layer."""
    from convscope.engine.objectives import channel
    from convscope.engine.recipes import get_recipe
    from convscope.engine.render import render

    model = convscope.load()
    rec = get_recipe("lucid", steps=steps)
    rows = []
    for name in layers:
        units = list(range(min(batch, model.layers[name].channels)))
        times = alternate(1, run=lambda: render(model, [channel(name, u) for u in units], rec, batch=batch))
        rows.append({"layer": name, "channels": model.layers[name].channels,
                     "s_per_unit_step": median(times["run"]) / (len(units) * steps)})
    return rows


def atlas_memory(layers: str, steps: int) -> dict:
    """Peak memory of an atlas over ``layers`` (few steps), in a fresh process."""
    code = f"""
import tempfile, time, convscope
with tempfile.TemporaryDirectory() as out:
    start = time.perf_counter()
    s = convscope.atlas(convscope.load(), out, layers={layers.split(',')!r}, recipe=convscope.get_recipe("lucid", steps={steps}),
                        batch=32)
    RESULT = {{'units': s.units, 'seconds': time.perf_counter() - start}}
"""
    out = peak_rss_of(code)
    out["layers"] = layers
    return out
