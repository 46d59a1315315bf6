"""Stops what a test run leaves behind, once the run is over however it ended (finished, failed,
interrupted or killed): every process that carries the run's mark in its environment (Ray's
nodes, chromedriver and Chromium, the commands the tests start), and the run's Ray folders.

    python tests/reaper.py PID RUN   # started by conftest.py beside the pytest process PID
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Iterator

MARK = "CONVSCOPE_TEST_RUN"


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is over)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def marked(run: str) -> Iterator[int]:
    """The processes whose environment carries ``run``'s mark."""
    wanted = f"{MARK}={run}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                environment = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if wanted in environment:
                yield int(entry.name)


def reap(run: str) -> None:
    """Kills the run's processes (until none is left, for a while) and removes its Ray folders."""
    for _ in range(20):
        left = list(marked(run))
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.5)
    for folder in Path("/tmp").glob(f"cs_ray_{run}_*"):
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parent, run = int(sys.argv[1]), sys.argv[2]
    while running(parent):
        time.sleep(0.5)
    reap(run)


if __name__ == "__main__":
    main()
