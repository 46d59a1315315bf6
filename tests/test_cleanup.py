"""A test run cleans up after itself however it ends: a run killed with SIGKILL while it holds a
loopback Ray cluster and a browser leaves no process and no Ray folder behind."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from reaper import MARK, marked  # noqa: E402

pytestmark = pytest.mark.xdist_group("ray")  # it starts a Ray cluster: one at a time

HERE = Path(__file__).parent


def test_a_killed_run_leaves_no_process_and_no_ray_folder(tmp_path):
    ready = tmp_path / "ready"
    env = {key: value for key, value in os.environ.items()  # a run of its own: it makes its own mark
           if key != MARK and not key.startswith("PYTEST_XDIST") and key != "PYTEST_CURRENT_TEST"}
    env["CONVSCOPE_ABORT_READY"] = str(ready)
    child = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "run_to_abort.py")],
                             env=env, cwd=HERE.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while not ready.exists() and child.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        assert ready.exists(), "the run to abort did not start its cluster"
        run = ready.read_text()
        held = list(marked(run))
        names = {Path(f"/proc/{pid}/comm").read_text().strip() for pid in held if Path(f"/proc/{pid}/comm").exists()}
        assert "gcs_server" in names and "raylet" in names, names  # the cluster is up, under the run's mark
        if shutil.which("chromium") and shutil.which("chromedriver"):
            assert "chromedriver" in names, names  # and the browser's driver
    finally:
        child.kill()
        child.wait()
    deadline = time.time() + 90  # the reaper kills the processes, then removes the folders
    while (list(marked(run)) or list(Path("/tmp").glob(f"cs_ray_{run}_*"))) and time.time() < deadline:
        time.sleep(0.5)
    left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes()[:80] for pid in marked(run)}
    assert not left, f"left behind: {left}"
    assert not list(Path("/tmp").glob(f"cs_ray_{run}_*"))
