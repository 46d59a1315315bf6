"""The atlas on a real Ray cluster: a head and a worker node started on loopback."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from convscope.cli import main
from convscope.jobs.atlas.store import same_tree

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'convscope[ray]'")
RAY = str(Path(sys.executable).parent / "ray")
ARGS = ["--layers", "stem,block1", "--steps", "3", "--size", "48", "--batch", "8", "--seed", "4"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """`ray start --head` and a second node with `ray start --address`, stopped at the end."""
    port = free_port()
    temp = Path("/tmp") / f"cs_ray_{os.getpid()}"
    # A loopback-only test cluster: no token authentication (Ray 2.5x turns it on by default), for
    # the nodes and for every driver this module starts (in this process or as a child).
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED")}
    os.environ.update({"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"})
    env = dict(os.environ)
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    address = f"127.0.0.1:{port}"
    try:
        for argv in (["--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--include-dashboard",
                      "false", "--temp-dir", str(temp)], ["--address", address, "--node-ip-address", "127.0.0.1"]):
            started = subprocess.run([RAY, "start", *argv, *common], capture_output=True, text=True, env=env,
                                     timeout=180)
            assert started.returncode == 0, f"ray start failed: {started.stderr[-2000:]}"
        yield address
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=env, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def single_machine(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("single") / "atlas"
    assert main(["atlas", "efficientnet-lite0", "--out", str(out), *ARGS]) == 0
    return out


def driver(out: Path, address: str) -> list[str]:
    return [sys.executable, "-m", "convscope", "atlas", "efficientnet-lite0", "--out", str(out), "--ray", address,
            *ARGS]


def records(out: Path) -> int:
    return len(list(out.glob("units/*/*.json")))


def test_ray_atlas_is_identical_to_the_single_machine_one(cluster, single_machine, tmp_path):
    out = tmp_path / "atlas"
    result = subprocess.run(driver(out, cluster), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert same_tree(out, single_machine) == []


def test_a_worker_killed_mid_job_still_gives_the_same_atlas(cluster, single_machine, tmp_path):
    out = tmp_path / "atlas"
    child = subprocess.Popen(driver(out, cluster), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, killed = time.time() + 300, False
    while time.time() < deadline and child.poll() is None and not killed:
        found = subprocess.run(["pgrep", "-f", "ray::_render_task"], capture_output=True, text=True).stdout.split()
        if found:
            os.kill(int(found[0]), signal.SIGKILL)
            killed = True
        time.sleep(0.05)
    _out, err = child.communicate(timeout=900)
    assert killed, "no render task was seen running"
    assert child.returncode == 0, err
    assert same_tree(out, single_machine) == []


def test_the_driver_killed_then_rerun_finishes(cluster, single_machine, tmp_path):
    out = tmp_path / "atlas"
    child = subprocess.Popen(driver(out, cluster), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while records(out) < 8 and time.time() < deadline and child.poll() is None:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert 0 < records(out) < 56
    result = subprocess.run(driver(out, cluster), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert same_tree(out, single_machine) == []


def test_clear_errors_before_any_work(cluster, tmp_path, capsys):
    closed = free_port()
    for argv, match in ((["--ray", f"127.0.0.1:{closed}"], "no Ray cluster answers"),
                        (["--ray", "nonsense"], "give auto, or a cluster address"),
                        (["--ray", cluster, "--gpus-per-task", "1"], "but the cluster has 0 GPUs")):
        out = tmp_path / "never"
        assert main(["atlas", "efficientnet-lite0", "--out", str(out), *ARGS, *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err and match in err[-1]
        assert not list(out.glob("units/*/*.json"))
