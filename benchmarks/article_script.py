"""The article's loop as a plain script, run as its own process: ``python -m
benchmarks.article_script MODEL LAYER FILTERS [WEIGHTS]`` optimizes filters 0..FILTERS-1 one
at a time (128 px gray noise, 20 normalized steps, the whole network every step) and
prints their final mean activations as JSON. The whole-process baseline for `grid`."""
from __future__ import annotations

import json
import sys

import convscope

from .article_loop import article_filter


def main(argv: list[str]) -> None:
    name, layer, filters = argv[0], argv[1], int(argv[2])
    model = convscope.load(name, weights=argv[3]) if len(argv) > 3 else convscope.load(name)
    print(json.dumps([article_filter(model, layer, unit, seed=0) for unit in range(filters)]))


if __name__ == "__main__":
    main(sys.argv[1:])
