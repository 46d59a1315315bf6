"""Concept dictionaries by size: NMF and SAE at several sizes on one layer's vectors of a photo
folder, each measured as ``concepts`` measures it (held-out explained variance, L0, dead
share, beside the units baseline) and with the trust of a sample of its concepts.

``python -m benchmarks.concept_sizes PHOTOS OUT [--sizes 32,64,256,1024] [--methods nmf,sae]
[--trusted 8]``: the photos' vectors are collected once into OUT (a later run reads them back),
each dictionary is trained with the default training of ``concepts``, and the ``--trusted``
concepts at evenly spaced ranks of frequency are rendered with the default recipe and measured
by the default judge. Prints one JSON line, and writes it to OUT/sizes.json.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import convscope
from convscope.data.photo_sources import PhotoFolder
from convscope.data.photo_stats import PhotoStats
from convscope.data.vector_shards import VectorDraw, collect_vectors
from convscope.engine.batch import as_seen
from convscope.engine.objectives import direction
from convscope.engine.recipes import get_recipe
from convscope.engine.render import render
from convscope.jobs.concepts.codes_pass import CodesPlan, run_codes_pass
from convscope.jobs.specs import ConceptsSpec
from convscope.methods.concepts.registry import dictionary_methods
from convscope.methods.concepts.schedule import Training
from convscope.methods.trust.assess import TrustMeter, TrustSettings
from convscope.methods.trust.controls import other_units, starting_noise
from convscope.methods.trust.judge import load_judge

LAYER = "head"


def sampled(frequency: list[float], count: int) -> list[int]:
    """``count`` concepts at evenly spaced ranks of frequency, the most frequent first."""
    order = sorted(range(len(frequency)), key=lambda i: (-frequency[i], i))
    step = len(order) / min(count, len(order))
    return [order[int(n * step)] for n in range(min(count, len(order)))]


def dictionary_row(model: convscope.models.VisionModel, shards, method: str, size: int, trusted: int,
                   out: Path) -> dict:
    """One dictionary's training time, measures and sampled trust."""
    spec = ConceptsSpec()
    start = time.perf_counter()
    dictionary = dictionary_methods()[method].fit(shards, Training(size, spec.k, spec.epochs, seed=spec.seed))
    seconds = time.perf_counter() - start
    settings = TrustSettings(load_judge(None, model), references=1)  # the default trials
    plan = CodesPlan(k=spec.k, top=settings.top_photos, effect_photos=0, classes=[], class_photos=0,
                     low=settings.low_photos)
    gathered = run_codes_pass(model, shards, dictionary, plan, batch=32, workers=2, out=out / f"{method}-{size}")
    measures, units = gathered.concepts, gathered.units
    chosen = sampled(measures["frequency"], trusted)
    recipe = get_recipe(spec.recipe)
    pictures = render(model, [direction(LAYER, dictionary.atoms[i]) for i in chosen], recipe,
                      seeds=[spec.seed + i for i in chosen], transform_seed=spec.seed, batch=len(chosen))
    stats = PhotoStats(gathered.exemplars, None, list(shards.files), None, gathered.lowest, gathered.readable)
    meter = TrustMeter(model, LAYER, PhotoFolder(shards.root, names=shards.files), stats, settings, spec.seed)
    seen = as_seen(recipe, model, torch.stack([picture.to_tensor() for picture in pictures.pictures]))
    sets = dict(zip(chosen, meter.single_sets(seen)))
    noise = meter.single_sets(starting_noise(recipe, model, [spec.seed + i for i in chosen]))
    trust = [meter.measure(i, sets[i], n, {o: sets[o] for o in other_units(i, chosen)}) for i, n in zip(chosen, noise)]
    paths = [t.path_score for t in trust if t.path_score is not None]
    choices = [t.choice_pictures.score for t in trust]
    return {"method": method, "concepts": size, "training_s": round(seconds, 1),
            "explained_variance": measures["explained_variance"], "l0": measures["l0"],
            "dead_share": measures["dead"] / size, "units_baseline": units["explained_variance"],
            "units_l0": units["l0"], "trusted": chosen,
            "path_score": float(torch.tensor(paths).median()) if paths else None,
            "choice": float(torch.tensor(choices).median()) if choices else None}


def main(photos: Path, out: Path, sizes: list[int], methods: list[str], trusted: int) -> dict:
    """Every method at every size, on the vectors of ``photos`` (collected into ``out``)."""
    torch.manual_seed(0)
    model = convscope.load()
    spec = ConceptsSpec()
    shards = collect_vectors(model, LAYER, PhotoFolder(photos, 2), out / "vectors",
                             VectorDraw(spec.samples, spec.held_out, spec.seed), batch=32)
    result: dict = {"photos": len(shards.files), "training_vectors": shards.count, "layer": LAYER, "rows": []}
    for method in methods:
        for size in sizes:  # written after each dictionary, so a stopped sweep keeps what it measured
            result["rows"].append(dictionary_row(model, shards, method, size, trusted, out))
            (out / "sizes.json").write_text(json.dumps(result, indent=1))
    return result


def sizes_markdown(result: dict | str) -> list[str]:
    """Section 20 of BENCHMARKS.md."""
    parts = ["## 20. Concept dictionaries by size", ""]
    if isinstance(result, str):
        return parts + [result, ""]
    rows = result["rows"]
    parts += ["`CONCEPT_PHOTOS=DIR python -m benchmarks --only concept_sizes`, or "
              "`python -m benchmarks.concept_sizes DIR OUT`: the default `concepts` run's vectors of "
              f"efficientnet-lite0's `{result['layer']}` over {result['photos']:,} photos ({result['training_vectors']:,} "
              "training vectors; 10% of the photos held out), one dictionary per method and size with the default "
              "training (seed 0). Explained variance, L0 and dead share on the held-out photos; the units baseline "
              f"keeps each vector's {rows[0]['units_l0']:.0f} largest units (k = 8). Trust: {len(rows[0]['trusted'])} "
              "concepts per dictionary at evenly spaced ranks of frequency, rendered with the default recipe and "
              "measured by the default judge (one picture as the reference, 50 trials); the medians. Training "
              "seconds: one thread, beside other work (read them as a comparison between rows).", "",
              "| method | concepts | explained variance | units baseline | L0 | dead share | path score | "
              "choice: pictures | training s |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        path = "-" if r["path_score"] is None else f"{r['path_score']:.2f}"
        parts.append(f"| {r['method']} | {r['concepts']} | {r['explained_variance']:.3f} | {r['units_baseline']:.3f} "
                     f"| {r['l0']:.1f} | {r['dead_share']:.3f} | {path} | {r['choice']:.2f} | {r['training_s']:.0f} |")
    return parts + [""]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--sizes", default="32,64,256,1024")
    parser.add_argument("--methods", default="nmf,sae")
    parser.add_argument("--trusted", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(main(args.photos, args.out, [int(s) for s in args.sizes.split(",")], args.methods.split(","),
                          args.trusted)))
