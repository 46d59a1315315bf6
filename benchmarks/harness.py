"""Side-by-side timing: alternate A and B, keep every run, report medians and ratios."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from typing import Callable, Sequence, TypeVar

import torch

Result = TypeVar("Result")


class WithPreprocessing(torch.nn.Module):
    """A convscope network with its preprocessing inside: what a peer that takes a plain module
    on [0, 1] images (Lucent, DreamLens) is given."""

    def __init__(self, model) -> None:
        super().__init__()
        self.vm = model
        self.net = model.net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.vm.preprocess(x))


def alternate(runs: int, **variants: Callable[[], object]) -> dict[str, list[float]]:
    """Runs each variant once untimed (warm-up), then in turn (A, B, A, B ...) ``runs`` times;
    the seconds of each timed run."""
    for fn in variants.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def alternate_timed(runs: int, **variants: Callable[[], tuple[float, Result]]) -> tuple[dict[str, list[float]],
                                                                                      dict[str, Result]]:
    """``alternate`` for variants that time themselves (such as a fresh process that warms up,
    times its own work and reports it): each in turn (A, B, A, B ...) ``runs`` times. Returns the
    seconds each reported, and each one's last result."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    results: dict[str, Result] = {}
    for _ in range(runs):
        for name, fn in variants.items():
            seconds, results[name] = fn()
            times[name].append(seconds)
    return times, results


def merged(earlier: list[dict], rerun: list[dict], key: Callable[[dict], str]) -> list[dict]:
    """A section's earlier rows with those of the same ``key`` replaced by the rerun's, new keys
    appended (a section that reruns some of its rows keeps the others)."""
    fresh = {key(r): r for r in rerun}
    kept = [fresh.pop(key(r), r) for r in earlier]
    return kept + list(fresh.values())


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def peak_rss_of(code: str) -> dict:
    """Runs ``code`` in a fresh Python and returns what it printed last as JSON, with its
    peak resident memory (MiB) and wall time (s)."""
    wrapper = (code + "\nimport resource, json\n"
               "print(json.dumps({**RESULT, 'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - start
    return result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        cpu = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name"))
        cpu += " with AMX" if "amx_bf16" in text else " without AMX"  # bfloat16 speed depends on it
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), Python {platform.python_version()}; {date.today().isoformat()}")
