"""Benchmark 19: the exemplars pass over 2,000 photos in one process, and on a Ray cluster of two
nodes started on this machine's loopback (a head and a worker, 1 CPU each): wall time, the
pass's own time, and the driver's peak memory, in alternated rounds; and whether the files
are the same bytes.

The photos are ``benchmarks/photos.py``'s crops (rescaled to ImageNet's typical
500 x 375), written as JPEG to a temporary folder.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from .harness import median, peak_rss_of
from .photos import augmented_photos

RAY = str(Path(sys.executable).parent / "ray")
IMAGENET_VAL = 50_000


def _code(photos: Path, out: Path, address: str | None) -> str:
    """A driver: load the network, run the pass (on the cluster at ``address``, or here)."""
    runner = ("from convscope.jobs.cluster.connect import RayCluster\n"
              "from convscope.jobs.cluster.photo_shards import RayShards\n"
              f"cluster = RayCluster({address!r})\nrunner = RayShards(cluster)\n") if address else "runner = None\n"
    return (f"import time, convscope\n\n"
            f"start = time.perf_counter()\nm = convscope.load()\n{runner}"
            f"begin = time.perf_counter()\n"
            f"run = convscope.exemplars(m, {str(photos)!r}, {str(out)!r}, list(m.main_layers), runner=runner)\n"
            f"RESULT = {{'pass_s': time.perf_counter() - begin, 'photos': len(run.files)}}")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _start(argv: list[str], env: dict) -> None:
    subprocess.run([RAY, "start", *argv, "--num-cpus", "1", "--disable-usage-stats"], check=True, capture_output=True,
                   env=env)


def main(count: int = 2000, rounds: int = 2) -> dict:
    """One process against two loopback nodes, ``rounds`` alternated runs each over ``count`` photos."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}  # loopback only
    os.environ.update({"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"})
    root = Path(tempfile.mkdtemp(prefix="cs_ray_photos_", dir="/tmp"))
    temp = root / "ray"
    photos = root / "photos"
    augmented_photos(photos, count, (500, 375), seed=5)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"127.0.0.1:{port}"
    runs: dict[str, list[dict]] = {"one_process": [], "two_nodes": []}
    same = True
    try:
        _start(["--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--include-dashboard", "false",
                "--temp-dir", str(temp)], env)
        _start(["--address", address, "--node-ip-address", "127.0.0.1"], env)
        for r in range(rounds):
            for name, where in (("one_process", None), ("two_nodes", address)):
                out = root / f"{name}-{r}"
                runs[name].append(peak_rss_of(_code(photos, out, where)))
            same = same and _files(root / f"one_process-{r}") == _files(root / f"two_nodes-{r}")
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=env)
        shutil.rmtree(root, ignore_errors=True)
    result: dict = {"photos": count, "rounds": rounds, "same_bytes": same, "layers": "main layers (17)",
                    "batch": 64, "tasks": -(-count // 256)}
    for name, rows in runs.items():
        rate = [row["photos"] / row["pass_s"] for row in rows]
        result[name] = {"wall_s": [row["wall_s"] for row in rows], "pass_s": [row["pass_s"] for row in rows],
                        "photos_per_s": median(rate), "photos_per_s_range": [min(rate), max(rate)],
                        "driver_peak_mib": max(row["peak_rss_mib"] for row in rows)}
    one, two = result["one_process"], result["two_nodes"]
    result["ratio"] = two["photos_per_s"] / one["photos_per_s"]
    result["imagenet_val_h_per_node"] = IMAGENET_VAL / two["photos_per_s"] / 3600
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)))


def ray_photos_markdown(r: dict, machine: str) -> list[str]:
    """Section 19 of BENCHMARKS.md."""
    one, two = r["one_process"], r["two_nodes"]

    def spread(row: dict) -> str:
        low, high = row["photos_per_s_range"]
        return f"{row['photos_per_s']:.1f} ({low:.1f}-{high:.1f})"

    return ["## 19. Photo passes on Ray", "",
            f"`benchmarks/ray_photos.py` ({machine}): `exemplars` of efficientnet-lite0's {r['layers']} over "
            f"{r['photos']} JPEGs (500 x 375, made by `benchmarks/photos.py`), batches of {r['batch']}, in one "
            "process (2 DataLoader workers decoding) and with `--ray` on a cluster of two nodes started on this "
            f"machine's loopback (a head and a worker, 1 CPU each; {r['tasks']} tasks of 256 photos). Each run is "
            f"a fresh driver process; {r['rounds']} alternated rounds. The pass's time excludes loading the "
            "network and connecting; the driver's peak memory is its own maximum resident set (decoding workers "
            "and Ray's workers are other processes).", "",
            "| run | photos/s (median, range) | pass s | whole process s | driver peak MiB |",
            "| --- | --- | --- | --- | --- |",
            f"| one process | {spread(one)} | {', '.join(f'{s:.1f}' for s in one['pass_s'])} | "
            f"{', '.join(f'{s:.1f}' for s in one['wall_s'])} | {one['driver_peak_mib']:.0f} |",
            f"| Ray, two loopback nodes | {spread(two)} | {', '.join(f'{s:.1f}' for s in two['pass_s'])} | "
            f"{', '.join(f'{s:.1f}' for s in two['wall_s'])} | {two['driver_peak_mib']:.0f} |", "",
            f"The files are {'the same bytes' if r['same_bytes'] else 'NOT the same bytes'} in both. Ray's rate is "
            f"{r['ratio']:.2f}x the one process's. At the Ray cluster's rate, ImageNet's 50,000 validation photos take "
            f"{r['imagenet_val_h_per_node']:.2f} h.", ""]
