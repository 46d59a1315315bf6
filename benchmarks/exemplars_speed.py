"""Benchmark 11: dataset examples in one streaming pass, against the per-layer, one-photo-at-a-time
loop the atlas used for its photo statistics; and peak memory for 1,000 against 10,000 photos.

The photos are ``benchmarks/photos.py``'s crops at ImageNet's typical 500 x 375, written as JPEG
to a temporary folder.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from .harness import peak_rss_of
from .photos import augmented_photos

ALL_CONV = ["stem"] + [f"block{i}" for i in range(16)] + ["head"]


def streaming_code(photos: Path, out: Path, layers: list[str], workers: int, batch: int) -> str:
    return (f"import time, convscope\n\n"
            f"m = convscope.load()\nstart = time.perf_counter()\n"
            f"run = convscope.exemplars(m, {str(photos)!r}, {str(out)!r}, {layers!r}, workers={workers}, batch={batch})\n"
            f"RESULT = {{'seconds': time.perf_counter() - start, 'photos': len(run.files)}}")


def per_layer_code(photos: Path, layers: list[str], count: int) -> str:
    """The loop the atlas used before the streaming pass: every photo read into memory and
    prepared, then per layer one single-photo forward each, keeping means and peaks."""
    return (f"import time, torch, convscope\n"
            f"from convscope.data.photo_stream import photo_files\nfrom convscope.io.photo_reading import load_photo\n"
            f"from convscope.models.probe import Probe\n"
            f"m = convscope.load()\nstart = time.perf_counter()\n"
            f"files = photo_files({str(photos)!r})[:{count}]\n"
            f"images = [m.prepare(load_photo(f)[0]) for f in files]\n"
            f"for layer in {layers!r}:\n"
            f"    rows = []\n"
            f"    with torch.no_grad(), Probe(m, [layer]) as probe:\n"
            f"        for image in images:\n"
            f"            a = probe(image)[layer][0].flatten(1)\n"
            f"            rows.append((a.mean(dim=1), a.amax(dim=1)))\n"
            f"RESULT = {{'seconds': time.perf_counter() - start, 'photos': len(files)}}")


def main(small: int, large: int, compare: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        augmented_photos(root / "large", large, (500, 375))
        augmented_photos(root / "small", small, (500, 375))
        streaming = [peak_rss_of(streaming_code(root / name, root / f"out-{name}", ALL_CONV, workers=2, batch=64))
                     for name in ("small", "large")]
        per_layer = peak_rss_of(per_layer_code(root / "small", ALL_CONV, compare))
    rows = [{"run": f"streaming, {r['photos']} photos", "photos": r["photos"], "seconds": r["seconds"],
             "photos_per_s": r["photos"] / r["seconds"], "peak_rss_mib": r["peak_rss_mib"]} for r in streaming]
    rows.append({"run": f"per layer, one photo at a time, {per_layer['photos']} photos", "photos": per_layer["photos"],
                 "seconds": per_layer["seconds"], "photos_per_s": per_layer["photos"] / per_layer["seconds"],
                 "peak_rss_mib": per_layer["peak_rss_mib"]})
    memory_growth = streaming[1]["peak_rss_mib"] / streaming[0]["peak_rss_mib"] - 1
    return {"rows": rows, "layers": len(ALL_CONV), "speedup": rows[0]["photos_per_s"] / rows[-1]["photos_per_s"],
            "memory_growth": memory_growth}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))
