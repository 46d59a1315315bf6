"""Benchmark 5: the atlas on Ray with one and with two worker nodes on this machine."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RAY = str(Path(sys.executable).parent / "ray")
LAYERS = "stem,block1"
ARGS = ["--layers", LAYERS, "--steps", "16", "--size", "64", "--batch", "8", "--seed", "0"]
UNITS, TASKS = 56, 7


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _atlas(extra: list[str]) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "convscope", "atlas", "efficientnet-lite0", "--out", out, *ARGS, *extra],
                       check=True, capture_output=True, env={**os.environ, "RAY_AUTH_MODE": "disabled"})
        return time.perf_counter() - start


def ray_nodes() -> dict:
    """Seconds for the same small atlas: in one process, on Ray with one node, with two."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}  # loopback only
    port, temp = _port(), Path(tempfile.mkdtemp(prefix="cs_ray_", dir="/tmp"))
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    result: dict[str, Any] = {"units": UNITS, "tasks": TASKS, "settings": " ".join(ARGS)}
    try:
        result["local_s"] = _atlas([])
        subprocess.run([RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                        "--include-dashboard", "false", "--temp-dir", str(temp), *common],
                       check=True, capture_output=True, env=env)
        address = f"127.0.0.1:{port}"
        result["one_node_s"] = _atlas(["--ray", address])
        subprocess.run([RAY, "start", "--address", address, "--node-ip-address", "127.0.0.1", *common],
                       check=True, capture_output=True, env=env)
        result["two_nodes_s"] = _atlas(["--ray", address])
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=env)
        shutil.rmtree(temp, ignore_errors=True)
    for key in ("local", "one_node", "two_nodes"):
        result[f"{key}_units_per_min"] = 60 * UNITS / result[f"{key}_s"]
    result["overhead_per_task_s"] = (result["one_node_s"] - result["local_s"]) / TASKS
    return result
