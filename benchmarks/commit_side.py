"""convscope against another checkout of itself, side by side in one run: the convscope sides of
sections 1 (the article's grid, keras2016) and 10 (lucid and maco), each in fresh processes that
alternate the two trees (``harness.alternate_timed``), so a change of the code is measured
against what it replaced.

    python -m benchmarks.commit_side OTHER_SRC [--runs 3] [--quick]

OTHER_SRC is the ``src`` folder of the other checkout (``git worktree add /tmp/old REV``). Both
trees run on this environment's packages. Prints one JSON object: per case, the median seconds
of each tree, their ratio (this tree's time over the other's), and whether the activations agree.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from .harness import alternate_timed

THIS_SRC = Path(__file__).resolve().parent.parent / "src"

CASE = """
import json, sys, time, torch
import convscope
torch.manual_seed(0)
model = convscope.load("efficientnet-lite0")
kind, layer, units, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
grid = getattr(convscope, "grid", None) or convscope.filter_grid

def run():
    if kind == "keras2016":
        g = grid(model, layer, candidates=units, top=units, recipe="keras2016", batch=units)
        by_unit = {t["channel"]: t["activation"] for t in g.tiles}
        by_unit.update({d["channel"]: d["activation"] for d in g.dropped})
        return [by_unit[u] for u in range(units)]
    recipe = convscope.get_recipe(kind, steps=steps)
    return convscope.render(model, [f"{layer}:{u}" for u in range(units)], recipe, batch=units).final.tolist()

run()  # warm-up
start = time.perf_counter()
acts = run()
print(json.dumps({"seconds": time.perf_counter() - start, "activations": acts,
                  "module": convscope.__file__}))
"""

CASES = [("keras2016", "block2", 16, 20), ("keras2016", "block8", 16, 20), ("keras2016", "head", 16, 20),
         ("lucid", "block8", 8, 64), ("lucid", "head", 8, 64), ("maco", "block8", 8, 32), ("maco", "head", 8, 32)]


def one_run(src: Path, case: tuple[str, str, int, int]) -> dict:
    """One case in a fresh process whose convscope comes from ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", CASE, *map(str, case)], capture_output=True, text=True, env=env,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["module"].startswith(str(src)):
        raise SystemExit(f"the process imported {result['module']}, not the tree in {src}")
    return result


def timed(src: Path, case: tuple[str, str, int, int]) -> tuple[float, list[float]]:
    """One case in a fresh process from ``src``: the seconds it reported and its activations."""
    result = one_run(src, case)
    return result["seconds"], result["activations"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other_src", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="the first case of each recipe, one run")
    args = parser.parse_args()
    cases = [CASES[0], CASES[3], CASES[5]] if args.quick else CASES
    runs = 1 if args.quick else args.runs
    rows = []
    for case in cases:
        times, acts = alternate_timed(runs, other=lambda: timed(args.other_src.resolve(), case),
                                      this=lambda: timed(THIS_SRC, case))
        this, other = statistics.median(times["this"]), statistics.median(times["other"])
        worst = max(abs(a - b) / max(abs(b), 1e-6) for a, b in zip(acts["this"], acts["other"]))
        rows.append({"recipe": case[0], "layer": case[1], "units": case[2], "steps": case[3],
                     "this_s": round(this, 3), "other_s": round(other, 3), "ratio": round(this / other, 3),
                     "activations_equal": acts["this"] == acts["other"], "largest_relative_difference": worst})
        print(json.dumps(rows[-1]), file=sys.stderr)
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
