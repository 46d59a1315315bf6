"""Freed CPU memory is kept for reuse inside a job and given back after it (glibc)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from convscope.runtime import heap

pytestmark = pytest.mark.fast  # `make check` runs this file


PROBE = """
import json, resource, torch
from convscope.runtime.heap import reused_memory

def faults_of_steps(steps):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        torch.empty(64 * 2**20 // 4).fill_(1.0)  # a 64 MiB block, written, then freed
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20

plain = faults_of_steps(10)
with reused_memory(torch.device("cpu")):
    kept = faults_of_steps(10)
    inside = rss_mib()
print(json.dumps({"plain": plain, "kept": kept, "inside": inside, "after": rss_mib()}))
"""


@pytest.mark.skipif(heap._glibc() is None, reason="the C library is not glibc")
def test_freed_blocks_are_reused_inside_a_job_and_given_back_after() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    numbers = json.loads(out.stdout)
    pages = 64 * 2**20 // 4096
    assert numbers["plain"] > 8 * pages  # every step maps fresh zeroed pages
    assert numbers["kept"] < 2 * pages  # only the first step does
    assert numbers["after"] < numbers["inside"] - 32  # the kept 64 MiB went back to the system

