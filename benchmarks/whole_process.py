"""Benchmark 13: the article's loop and `convscope grid --recipe keras2016` as whole processes,
as a user runs them (start-up, model load, photo statistics and file writing included),
alternated A, B, A, B. Each side is a fresh Python, so each runs with its own allocator
settings: the article's script with glibc's defaults, convscope with its own."""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from convscope.models import vgg

from .harness import alternate, median

ROOT = Path(__file__).resolve().parent.parent


def _timed(argv: list[str], printed: dict[str, str], system_s: dict[str, list[float]], key: str) -> None:
    """Runs one process; keeps what it printed and its system CPU seconds."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime
    out = subprocess.run([sys.executable, *argv], capture_output=True, text=True, check=True, env=env, cwd=ROOT)
    printed[key] = out.stdout
    system_s.setdefault(key, []).append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime - before)


def random_vgg16_file(folder: Path) -> Path:
    """VGG16's conv layers with random weights (timing needs no trained ones), as a file."""
    torch.manual_seed(0)
    path = folder / "vgg16-random.pth"
    torch.save(vgg.VGG(vgg.CONFIGS["vgg16"], classifier=False).state_dict(), path)
    return path


def article_vs_grid_process(model: str, layer: str, filters: int, runs: int, weights: Path | None,
                            top: int | None = None, select: str = "full") -> dict:
    """The article's script over ``filters`` filters against ``grid --candidates filters --top
    top --select select``; the activations compared are the median of the best ``top`` filters
    of each (the article keeps its best too)."""
    top = top or filters
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "grid.png"
        article = ["-m", "benchmarks.article_script", model, layer, str(filters), *([str(weights)] if weights else [])]
        grid = ["-m", "convscope", "grid", model, layer, "--recipe", "keras2016", "--candidates", str(filters),
                "--top", str(top), "--select", select, "-o", str(out), "--json",
                *(["--weights", str(weights)] if weights else [])]
        printed: dict[str, str] = {}
        system_s: dict[str, list[float]] = {}
        times = alternate(runs, article=lambda: _timed(article, printed, system_s, "article"),
                          convscope=lambda: _timed(grid, printed, system_s, "convscope"))
        article_acts = json.loads(printed["article"])
        sidecar = json.loads(Path(json.loads(printed["convscope"])[0]["sidecar"]).read_text())
    ours = [t["activation"] for t in sidecar["tiles"]]
    if top == filters:  # every filter is compared, dead ones included
        ours += [d["activation"] for d in sidecar["dropped"]]
    a, c = median(times["article"]), median(times["convscope"])
    return {"model": model, "layer": layer, "filters": filters, "top": top, "select": select, "runs": runs,
            "article_s": a, "convscope_s": c, "article_range": [min(times["article"]), max(times["article"])],
            "convscope_range": [min(times["convscope"]), max(times["convscope"])],
            "speedup": a / c, "article_sys_s": median(system_s["article"][1:]),  # [0]: the warm-up run
            "convscope_sys_s": median(system_s["convscope"][1:]),
            "article_median_activation": statistics.median(sorted(article_acts, reverse=True)[:top]),
            "convscope_median_activation": statistics.median(ours)}


def main(quick: bool) -> list[dict]:
    runs = 1 if quick else 3
    lite_filters = 16 if quick else 64
    rows = [article_vs_grid_process("efficientnet-lite0", layer, lite_filters, runs, None)
            for layer in ("block8", "head")]
    rows += [article_vs_grid_process("efficientnet-lite0", "block8", 112, runs, None, 64, select)
             for select in ("full", "halving")]
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(article_vs_grid_process("vgg16", "conv3_3", 4 if quick else 16, runs,
                                            random_vgg16_file(Path(tmp))))
    return rows


if __name__ == "__main__":
    print(json.dumps(main(len(sys.argv) > 1 and sys.argv[1] == "quick")))
