"""Benchmark 16: concepts at scale, and beside overcomplete.

- The collection pass of ``concepts`` (efficientnet-lite0's head, 100,000 samples) against the
  exemplars pass on the same photos, in fresh processes, alternated; and its peak memory on 500
  and 5,000 photos.
- Training time per epoch and peak memory of both methods on 100,000 real vectors of the head,
  and on 1,000,000 (the same shards read ten times an epoch: the time depends on the count,
  not on which vectors they are).
- Side by side with overcomplete 0.3.0 (``benchmarks/concepts_peer.py``, run in the extras
  environment, where timm and torchvision import), on the same vectors, concepts and k.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from .harness import median, peak_rss_of
from .photos import augmented_photos

ROOT = Path(__file__).resolve().parent.parent
EXTRAS_PYTHON = ROOT / ".venv-extras" / "bin" / "python"
LAYER = "head"


def collect_code(photos: Path, out: Path, samples: int) -> str:
    return (f"import time, convscope\nfrom convscope.data.vector_shards import VectorDraw, collect_vectors\n"
            f"m = convscope.load()\nstart = time.perf_counter()\n"
            f"s = collect_vectors(m, {LAYER!r}, {str(photos)!r}, {str(out)!r}, VectorDraw({samples}), batch=32)\n"
            f"RESULT = {{'seconds': time.perf_counter() - start, 'photos': len(s.files), 'vectors': s.count}}")


def exemplars_code(photos: Path, out: Path) -> str:
    return (f"import time, convscope\n\n"
            f"m = convscope.load()\nstart = time.perf_counter()\n"
            f"run = convscope.exemplars(m, {str(photos)!r}, {str(out)!r}, [{LAYER!r}], workers=2, batch=32)\n"
            f"RESULT = {{'seconds': time.perf_counter() - start, 'photos': len(run.files)}}")


def train_code(vectors: Path, method: str, repeat: int) -> str:
    return (f"import time, dataclasses, convscope\n"
            f"from convscope.data.vector_shards import VectorDraw, collect_vectors\n"
            f"from convscope.methods.concepts.schedule import Training\n"
            f"from convscope.methods.concepts.{method} import train_{method}\n"
            f"m = convscope.load()\n"
            f"s = collect_vectors(m, {LAYER!r}, *{_pass_arguments(vectors)})\n"
            f"s = dataclasses.replace(s, shards=s.shards * {repeat}, count=s.count * {repeat})\n"
            f"start = time.perf_counter()\n"
            f"train_{method}(s, Training(64, 8, epochs=1, batch=1024))\n"
            f"RESULT = {{'seconds': time.perf_counter() - start, 'vectors': s.count}}")


def _pass_arguments(vectors: Path) -> str:
    settings = json.loads((vectors / "vectors.json").read_text())
    return repr((settings["root"], str(vectors))) + f", VectorDraw({settings['samples']}), batch=32"


def main(quick: bool = False) -> dict:
    small, large = (100, 1000) if quick else (500, 5000)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        augmented_photos(root / "small", small)
        augmented_photos(root / "large", large)
        pass_rows = []
        for round_ in range(2):
            for name, code in (("collection", collect_code(root / "small", root / f"c{round_}", 100_000)),
                               ("exemplars", exemplars_code(root / "small", root / f"e{round_}"))):
                result = peak_rss_of(code)
                pass_rows.append({"pass": name, **result, "photos_per_s": result["photos"] / result["seconds"]})
        memory = [peak_rss_of(collect_code(root / name, root / f"m-{name}", 100_000)) for name in ("small", "large")]
        training = []
        for method in ("nmf", "sae"):
            for repeat in (1, 10):
                result = peak_rss_of(train_code(root / "m-large", method, repeat))
                training.append({"method": method, "vectors": result["vectors"], "epoch_s": result["seconds"],
                                 "peak_rss_mib": result["peak_rss_mib"]})
        peer = _peer(root / "small", root / "peer")
    speeds = {name: median([r["photos_per_s"] for r in pass_rows if r["pass"] == name])
              for name in ("collection", "exemplars")}
    return {"collection_vs_exemplars": {**speeds, "ratio": speeds["collection"] / speeds["exemplars"],
                                        "photos": small, "rows": pass_rows},
            "collection_memory": [{"photos": m["photos"], "vectors": m["vectors"], "seconds": m["seconds"],
                                   "peak_rss_mib": m["peak_rss_mib"]} for m in memory],
            "memory_growth": memory[1]["peak_rss_mib"] / memory[0]["peak_rss_mib"] - 1,
            "training": training, "peer": peer}


def _peer(photos: Path, out: Path) -> list[dict] | str:
    if not EXTRAS_PYTHON.exists():
        return "not run: the extras environment (make extras) is missing"
    check = subprocess.run([str(EXTRAS_PYTHON), "-c", "import overcomplete"], capture_output=True, text=True)
    if check.returncode != 0:
        return ("not run: overcomplete is not installed in the extras environment "
                "(.venv-extras/bin/pip install overcomplete==0.3.0 'matplotlib<3.9')")
    done = subprocess.run([str(EXTRAS_PYTHON), "-m", "benchmarks.concepts_peer", str(photos), str(out)],
                          capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(main("--quick" in sys.argv)))
