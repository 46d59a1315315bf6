"""One job folder for every job that writes one: a lock that refuses (or waits for) a second
writer and dies with its holder, one settings-key policy, and files with the umask's mode."""
from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from convscope.jobs.job_folder import KEY_FILE, LOCK_FILE, JobFolder, JobFolderError
from helpers import cli

HOLD = """
import os, sys, time
from convscope.jobs.job_folder import KEY_FILE, JobFolder
with JobFolder(sys.argv[1], {"job": "holder"}) as folder:
    os.remove(folder.path(KEY_FILE))  # it holds the lock alone, and leaves the folder to the next job's settings
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def holder(out: Path, seconds: float) -> subprocess.Popen:
    """A real process that holds ``out``'s lock for ``seconds``; returns once it holds it."""
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(out), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def exemplars_into(out: Path, photos: Path, *extra: str) -> list[str]:
    return ["exemplars", "efficientnet-lite0", "--photos", str(photos), "--out", str(out), "--layers", "stem",
            "--workers", "0", "--json", *extra]


def test_a_second_writer_is_refused_with_the_holders_process(tmp_path, photo_folder):
    out = tmp_path / "out"
    child = holder(out, 120)
    try:
        refused = cli(*exemplars_into(out, photo_folder))
        assert refused.returncode == 2
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in refused.stderr
        assert f"process {child.pid}" in lines[0] and "--wait" in lines[0], lines[0]
        assert (out / LOCK_FILE).read_text().startswith(f"process {child.pid} (")
        assert not (out / "exemplars.json").exists()
    finally:
        child.kill()
        child.wait()


def test_wait_waits_for_the_holder_then_runs(tmp_path, photo_folder):
    out = tmp_path / "out"
    child = holder(out, 3)
    start = time.monotonic()
    waited = cli(*exemplars_into(out, photo_folder, "--wait"))
    child.wait()
    assert waited.returncode == 0, waited.stderr
    assert child.returncode == 0  # the holder finished its three seconds before the run could start
    assert time.monotonic() - start >= 2.5
    assert json.loads(waited.stdout)["photos"] == 12
    assert (out / LOCK_FILE).read_text() == ""  # the lock names its holder only while it is held


def test_a_killed_holder_leaves_the_folder_free(tmp_path, photo_folder):
    out = tmp_path / "out"
    child = holder(out, 600)
    child.kill()
    child.wait()
    done = cli(*exemplars_into(out, photo_folder))
    assert done.returncode == 0, done.stderr
    assert (out / "exemplars.json").is_file()


def test_other_settings_are_refused_naming_both_values(tmp_path, photo_folder):
    out = tmp_path / "out"
    first = cli(*exemplars_into(out, photo_folder, "--top", "3"))
    assert first.returncode == 0, first.stderr
    again = cli(*exemplars_into(out, photo_folder, "--top", "3"))  # equal settings: it continues (done)
    assert again.returncode == 0 and json.loads(again.stdout) == json.loads(first.stdout)
    other = cli(*exemplars_into(out, photo_folder, "--top", "4"))
    assert other.returncode == 2
    assert other.stderr.strip().splitlines() == [other.stderr.strip()]
    assert "top: 3 in the folder, 4 now" in other.stderr
    another_job = cli("trust", "efficientnet-lite0", "block2", "--photos", str(photo_folder), "--out", str(out),
                            "--trials", "2", "--references", "1", "--units", "0-3", "--steps", "2")
    assert another_job.returncode == 2 and "holds the output of exemplars, not of trust" in another_job.stderr


def test_the_library_names_its_parameter(tmp_path):
    with JobFolder(tmp_path / "a", {"n": 1}):
        with pytest.raises(JobFolderError, match=r"\{wait\}|wait for it"):
            JobFolder(tmp_path / "a", {"n": 1}).__enter__()
    with JobFolder(tmp_path / "a", {"n": 1}):  # let go: free again
        pass
    with pytest.raises(JobFolderError, match="n: 1 in the folder, 2 now"):
        JobFolder(tmp_path / "a", {"n": 2}).__enter__()
    with JobFolder(tmp_path / "a", {"n": 2}, replace=True, generated=["x"]):
        pass
    assert json.loads((tmp_path / "a" / KEY_FILE).read_text()) == {"n": 2}


def group_unwritable(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if not p.is_symlink() and not p.stat().st_mode & stat.S_IWGRP)


def test_every_folder_command_follows_the_umask(tmp_path, photo_folder):
    """Under umask 002 every file and folder a job writes is group-writable, whatever wrote its
    bytes (Pillow, JSON, safetensors, torch, numpy)."""
    small = ["--steps", "2", "--size", "48"]
    runs = {
        "exemplars": exemplars_into(tmp_path / "exemplars", photo_folder),
        "atlas": ["atlas", "efficientnet-lite0", "--out", str(tmp_path / "atlas"), "--layers", "stem", "--batch", "16",
                  *small],
        "activation-atlas": ["activation-atlas", "efficientnet-lite0", "block8", "--photos", str(photo_folder),
                             "--out", str(tmp_path / "activation-atlas"), "--grid", "2", "--samples", "60",
                             "--workers", "0", *small],
        "concepts": ["concepts", "efficientnet-lite0", "block2", "--photos", str(photo_folder), "--out",
                     str(tmp_path / "concepts"), "--method", "sae", "--concepts", "4", "--k", "2", "--samples", "400",
                     "--epochs", "2", "--workers", "0", "--trials", "2", "--judge", "efficientnet-lite1", *small],
        "trust": ["trust", "efficientnet-lite0", "block2", "--photos", str(photo_folder), "--out", str(tmp_path / "trust"),
                  "--units", "0-3", "--trials", "2", "--references", "1", "--judge", "efficientnet-lite1", *small],
        "circuit": ["circuit", "efficientnet-lite0", "block2:3", "--photos", str(photo_folder), "--out",
                    str(tmp_path / "circuit"), "--photos-top", "2", "--top", "2", "--depth", "2", "--ig-steps", "2",
                    *small],
        "labels": ["labels", "efficientnet-lite0", "block2", "--photos", str(photo_folder), "--out",
                   str(tmp_path / "labels"), "--units", "0-3", "--min-photos", "3", "--permutations", "99"],
    }
    # one process runs the seven jobs (a umask is a process's setting), so torch and the network load once
    script = ("import json, os, sys\nfrom convscope.cli import main\nos.umask(0o002)\n"
              "print(json.dumps([main(argv) for argv in json.loads(sys.argv[1])]))")
    done = subprocess.run([sys.executable, "-c", script, json.dumps(list(runs.values()))], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout.splitlines()[-1]) == [0] * len(runs), done.stderr
    for name in runs:
        folder = tmp_path / name
        assert (folder / LOCK_FILE).is_file() and len(list(folder.rglob("*"))) > 2, name
        assert group_unwritable(folder) == [], name
    assert any((tmp_path / "concepts").rglob("*.safetensors"))
