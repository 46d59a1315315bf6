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


def _timed(argv: list[str], results: dict, key: str) -> None:
    """Runs one process; keeps what it printed and adds its CPU seconds (user, system)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, *argv], capture_output=True, text=True, check=True, env=env, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    results[key] = out.stdout
    results.setdefault(key + "_cpu", []).append((after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime))


def random_vgg16_file(folder: Path) -> Path:
    """VGG16's conv layers with random weights (timing needs no trained ones), as a file."""
    torch.manual_seed(0)
    path = folder / "vgg16-random.pth"
    torch.save(vgg.VGG(vgg.CONFIGS["vgg16"], classifier=False).state_dict(), path)
    return path


def article_vs_grid_process(model: str, layer: str, filters: int, runs: int, weights: Path | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "grid.png"
        extra = [str(weights)] if weights else []
        article = ["-m", "benchmarks.article_script", model, layer, str(filters), *extra]
        grid = ["-m", "convscope", "grid", model, layer, "--recipe", "keras2016", "--candidates", str(filters),
                "--top", str(filters), "-o", str(out), "--json", *(["--weights", str(weights)] if weights else [])]
        printed: dict[str, str] = {}
        times = alternate(runs, article=lambda: _timed(article, printed, "article"),
                          convscope=lambda: _timed(grid, printed, "convscope"))
        article_acts = json.loads(printed["article"])
        sidecar = json.loads(Path(json.loads(printed["convscope"])[0]["sidecar"]).read_text())
    ours = {t["channel"]: t["activation"] for t in sidecar["tiles"] + sidecar["dropped"]}
    a, c = median(times["article"]), median(times["convscope"])
    return {"model": model, "layer": layer, "filters": filters, "runs": runs, "article_s": a, "convscope_s": c,
            "speedup": a / c, "article_sys_s": median([sys_s for _u, sys_s in printed["article_cpu"][1:]]),
            "convscope_sys_s": median([sys_s for _u, sys_s in printed["convscope_cpu"][1:]]), "article_median_activation": statistics.median(article_acts),
            "convscope_median_activation": statistics.median(ours[u] for u in range(filters))}


def main(quick: bool) -> list[dict]:
    runs = 1 if quick else 2
    lite_filters = 16 if quick else 64
    rows = [article_vs_grid_process("efficientnet-lite0", layer, lite_filters, runs, None)
            for layer in ("block8", "head")]
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(article_vs_grid_process("vgg16", "conv3_3", 4 if quick else 16, runs,
                                            random_vgg16_file(Path(tmp))))
    return rows


if __name__ == "__main__":
    print(json.dumps(main(len(sys.argv) > 1 and sys.argv[1] == "quick")))
