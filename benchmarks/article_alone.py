"""The article's loop timed in a process of its own, as its users run it (convscope only
loads the network here: none of its process-wide settings are on). ``python -m
benchmarks.article_alone MODEL LAYER FILTERS ROUNDS`` (MODEL ``vgg16-random``: VGG16 with
random weights) renders filter 0 untimed, then FILTERS filters ROUNDS times; prints the
seconds per filter of each round as JSON."""
from __future__ import annotations

import json
import sys
import time

import convscope

from .article_loop import article_filter
from .speed import SEED, random_vgg16


def main(name: str, layer: str, filters: int, rounds: int) -> list[float]:
    model = random_vgg16() if name == "vgg16-random" else convscope.load(name)
    article_filter(model, layer, 0, SEED)
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        for unit in range(filters):
            article_filter(model, layer, unit, SEED)
        seconds.append((time.perf_counter() - start) / filters)
    return seconds


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
