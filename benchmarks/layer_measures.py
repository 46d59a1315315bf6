"""What the atlas measures of a layer from the photos (its units' statistics, trust meter,
circuits' photos and labels, and for the last conv layer the classes they drive), in this tree and in
another checkout, side by side: fresh processes that alternate the two trees
(``harness.alternate_timed``), each timing one ``layer_context`` of efficientnet-lite0 over the
same photos after an untimed one over a few of them.

    python -m benchmarks.layer_measures PHOTOS OTHER_SRC [--photos 500] [--runs 2]

OTHER_SRC is the ``src`` folder of the other checkout (``git worktree add /tmp/old REV``). Prints
one JSON object: per layer, the median seconds of each tree, their ratio (this tree's over the
other's), and whether the two trees measure the same numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from .harness import alternate_timed

THIS_SRC = Path(__file__).resolve().parent.parent / "src"
LAYERS = ["block8", "block15", "head"]

CASE = """
import json, sys, time, torch
import convscope
from convscope.data.photo_sources import PhotoFolder
from convscope.jobs.atlas.builder import layer_context
from convscope.methods.specs import LabelsSpec
from convscope.methods.trust.assess import TrustSettings, trials_for
from convscope.methods.trust.judge import load_judge

model = convscope.load("efficientnet-lite0")
folder, layer = sys.argv[1], sys.argv[2]

def measured(photos):
    trust = TrustSettings(load_judge(None, model), trials_for(None, len(photos), 1), references=1)
    return layer_context(model, layer, photos, trust, 0, circuits=True, labels=LabelsSpec())

warm = PhotoFolder(folder)
warm.files, warm.names = warm.files[:64], warm.names[:64]
measured(warm)
photos = PhotoFolder(folder)
start = time.perf_counter()
context = measured(photos)
seconds = time.perf_counter() - start
stats = context.stats.read
print(json.dumps({
    "seconds": seconds, "module": convscope.__file__,
    "top_photos": stats.peak_photos.tolist(), "top_means": stats.mean_photos.tolist(),
    "circuit_photos": context.circuits.stats[layer].read.mean_photos.tolist(),
    "labels": [[context.labels.unit(u).best, round(context.labels.unit(u).auc, 4)] for u in range(8)]
    if context.labels else None}))
"""


def timed(src: Path, photos: Path, layer: str) -> tuple[float, dict]:
    """One measure of ``layer`` in a fresh process whose convscope comes from ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run([sys.executable, "-c", CASE, str(photos), layer], capture_output=True, text=True, env=env,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["module"].startswith(str(src)):
        raise SystemExit(f"the process imported {result['module']}, not the tree in {src}")
    return result.pop("seconds"), result


def main(photos: Path, other_src: Path, count: int = 500, runs: int = 2) -> dict:
    """Both trees' times and agreement per layer, over the first ``count`` photos of ``photos``."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for file in sorted(photos.iterdir())[:count]:
            shutil.copy(file, folder)
        for layer in LAYERS:
            times, results = alternate_timed(runs, other=lambda: timed(other_src.resolve(), Path(folder), layer),
                                             this=lambda: timed(THIS_SRC, Path(folder), layer))
            this, other = statistics.median(times["this"]), statistics.median(times["other"])
            a, b = results["this"], results["other"]
            rows.append({"layer": layer, "photos": count, "this_s": round(this, 2), "other_s": round(other, 2),
                         "ratio": round(this / other, 3),
                         "same_photos": all(a[k] == b[k] for k in ("top_photos", "top_means", "circuit_photos")),
                         "same_labels": a["labels"] == b["labels"]})
            print(json.dumps(rows[-1]), file=sys.stderr)
    revision = subprocess.run(["git", "-C", str(other_src), "log", "-1", "--format=%h %s"], capture_output=True,
                              text=True)
    return {"rows": rows, "runs": runs, "other": revision.stdout.strip() or str(other_src)}


def layer_measures_markdown(result: dict | str) -> list[str]:
    """Section 26 of BENCHMARKS.md."""
    parts = ["## 26. A layer's measures in one read of the photos", ""]
    if isinstance(result, str):
        return parts + [result, ""]
    rows = "\n".join(f"| {r['layer']} | {r['photos']} | {r['this_s']:.1f} | {r['other_s']:.1f} | {r['ratio']:.3f} | "
                     f"{r['same_photos']} | {r['same_labels']} |" for r in result["rows"])
    return parts + ["`LAYER_PHOTOS=DIR CONVSCOPE_OTHER_SRC=SRC python -m benchmarks --only layer_measures`: what the "
                    "atlas measures of one efficientnet-lite0 layer from the photos before it writes a unit (the "
                    "units' statistics and trust meter, the photos of their circuits, their labels, and for head "
                    "the classes they drive), in fresh "
                    "processes that alternate this tree and another checkout "
                    f"({result['other']}), {result['runs']} runs each, after an untimed one over 64 photos; times "
                    "are medians, the ratio is this tree's over the other's. \"same\" columns: whether the two "
                    "trees found the same top photos (statistics and circuits) and the same labels of units 0-7.", "",
                    "| layer | photos | this s | other s | ratio | same photos | same labels |",
                    "| --- | --- | --- | --- | --- | --- | --- |", rows, ""]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("other_src", type=Path)
    parser.add_argument("--photos", type=int, default=500, dest="count")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(main(args.photos, args.other_src, args.count, args.runs)))
