"""A real Ray cluster on loopback for the tests: a head node, and more nodes added on demand,
each with one CPU; stopped at the end."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

RAY = str(Path(sys.executable).parent / "ray")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackCluster:
    """The address of the head, and ``add_node`` to start one more node."""

    def __init__(self, address: str, env: dict) -> None:
        self.address, self.env, self.nodes = address, env, 1

    def add_node(self) -> None:
        ray_start(["--address", self.address, "--node-ip-address", "127.0.0.1"], self.env)
        self.nodes += 1


def ray_start(argv: list[str], env: dict) -> None:
    started = subprocess.run([RAY, "start", *argv, "--num-cpus", "1", "--disable-usage-stats"], capture_output=True,
                             text=True, env=env, timeout=180)
    assert started.returncode == 0, f"ray start failed: {started.stderr[-2000:]}"


@contextmanager
def loopback_cluster(nodes: int) -> Iterator[LoopbackCluster]:
    """`ray start --head` and ``nodes`` - 1 more nodes with `ray start --address`."""
    port = free_port()
    temp = Path("/tmp") / f"cs_ray_{os.environ.get('CONVSCOPE_TEST_RUN', os.getpid())}_{port}"  # see reaper.py
    # A loopback-only test cluster: no token authentication (Ray 2.5x turns it on by default), for
    # the nodes and for every driver the tests start (in this process or as a child).
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED")}
    os.environ.update({"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"})
    env = dict(os.environ)
    try:
        ray_start(["--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--include-dashboard", "false",
                   "--temp-dir", str(temp)], env)
        cluster = LoopbackCluster(f"127.0.0.1:{port}", env)
        for _ in range(nodes - 1):
            cluster.add_node()
        yield cluster
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_killing_a_task(argv: list[str], task: str) -> tuple[bool, subprocess.CompletedProcess]:
    """Runs the driver ``argv`` and kills (SIGKILL) the first Ray worker seen running ``task``;
    whether one was killed, and the driver's finished process."""
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, killed = time.time() + 300, False
    while time.time() < deadline and child.poll() is None and not killed:
        found = subprocess.run(["pgrep", "-f", f"ray::{task}"], capture_output=True, text=True).stdout.split()
        if found:
            os.kill(int(found[0]), signal.SIGKILL)
            killed = True
        time.sleep(0.02)
    out, err = child.communicate(timeout=900)
    return killed, subprocess.CompletedProcess(argv, child.returncode, out, err)
