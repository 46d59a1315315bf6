"""The atlas on a real Ray cluster: a head and a worker node started on loopback."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import convscope
from convscope.cli import main
from convscope.jobs.atlas.store import same_tree

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'convscope[ray]'")
sys.path.insert(0, str(Path(__file__).parent))
from ray_nodes import free_port, loopback_cluster, run_killing_a_task  # noqa: E402

pytestmark = pytest.mark.xdist_group("ray")  # `ray stop --force` stops every cluster: one at a time

ARGS = ["--layers", "stem,block1", "--steps", "3", "--size", "48", "--batch", "8", "--seed", "4"]


@pytest.fixture(scope="module")
def cluster():
    with loopback_cluster(2) as nodes:
        yield nodes.address


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


def test_the_python_api_renders_on_ray_to_the_same_atlas(cluster, single_machine, tmp_path):
    out = tmp_path / "atlas"
    runner = convscope.on_ray(cluster)
    try:
        summary = convscope.atlas("efficientnet-lite0", out, layers=["stem", "block1"], batch=8, seed=4,
                                  recipe=convscope.get_recipe("lucid", steps=3, size=48), runner=runner)
    finally:
        runner.cluster.close()
    assert summary.rendered == summary.units and same_tree(out, single_machine) == []


def test_a_recipe_file_of_the_users_renders_on_ray(cluster, tmp_path):
    """The workers cannot import a user's file by its name: its code goes with the tasks."""
    recipe = str(Path(__file__).parents[1] / "examples" / "flip_transform.py") + ":make_recipe"
    args = ["--layers", "stem", "--steps", "2", "--size", "32", "--batch", "8", "--seed", "4", "--recipe", recipe]
    here, there = tmp_path / "here", tmp_path / "there"
    assert main(["atlas", "efficientnet-lite0", "--out", str(here), *args]) == 0
    result = subprocess.run([sys.executable, "-m", "convscope", "atlas", "efficientnet-lite0", "--out", str(there),
                             "--ray", cluster, *args], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert same_tree(there, here) == []


def test_a_worker_killed_mid_job_still_gives_the_same_atlas(cluster, single_machine, tmp_path):
    out = tmp_path / "atlas"
    killed, run = run_killing_a_task(driver(out, cluster), "render_batch")
    assert killed, "no render task was seen running"
    assert run.returncode == 0, run.stderr
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
