"""What the units' circuits add to an atlas: the same atlas without them and with ``circuits``,
side by side in one process, each in a fresh folder (the one without first).

``python -m benchmarks.atlas_circuits PHOTOS [--layer block8] [--steps 128]``: prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import convscope


def quiet(_done: float, _total: int, _busy: int | None) -> None:
    """An atlas progress callback that shows nothing."""


def main(photos: Path, layer: str = "block8", steps: int = 128) -> dict:
    """The wall time of the atlas of ``layer`` over ``photos`` without and with circuits."""
    model = convscope.load("efficientnet-lite0")
    recipe = convscope.get_recipe("lucid", steps=steps)
    seconds = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, circuits in (("without", False), ("with", True)):
            start = time.perf_counter()
            convscope.atlas(model, Path(folder) / name, layers=(layer,), photos=str(photos), recipe=recipe,
                            circuits=circuits, progress=quiet)
            seconds[name] = time.perf_counter() - start
    return {"layer": layer, "steps": steps, "photos": len(list(photos.iterdir())), "units": model.layer(layer).channels,
            "without_s": seconds["without"], "with_s": seconds["with"], "ratio": seconds["with"] / seconds["without"]}


def atlas_circuits_markdown(result: dict | str) -> list[str]:
    """Section 22 of BENCHMARKS.md."""
    parts = ["## 22. The atlas with and without the units' circuits", ""]
    if isinstance(result, str):
        return parts + [result, ""]
    r = result
    return parts + [f"`CIRCUIT_PHOTOS=DIR python -m benchmarks --only atlas_circuits`: the atlas of efficientnet-lite0's "
                    f"{r['layer']} ({r['units']} units, lucid at {r['steps']} steps, trust measured) over {r['photos']} "
                    "photos, once without `circuits` and once with, one after the other in one process: "
                    f"{r['without_s']:.0f} s against {r['with_s']:.0f} s, {r['ratio'] - 1:+.0%} for the circuits.", ""]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--layer", default="block8")
    parser.add_argument("--steps", type=int, default=128)
    args = parser.parse_args()
    print(json.dumps(main(args.photos, args.layer, args.steps)))
