"""Freed CPU memory is kept for reuse inside a job and given back after it (glibc)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from convscope.runtime import heap

pytestmark = pytest.mark.fast  # `make check` runs this file


PROBE = """
import json, resource, torch, convscope
from convscope.runtime.heap import reused_memory

model = convscope.load()
photos = torch.rand(8, 3, 224, 224)

def faults_of_steps(steps):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    with torch.no_grad():
        for _ in range(steps):
            model.logits(photos)  # a forward pass: its activations are freed after each step
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20

faults_of_steps(2)
plain = faults_of_steps(6)
with reused_memory(torch.device("cpu")):
    faults_of_steps(2)  # the first steps inside map what the heap then keeps
    kept = faults_of_steps(6)  # a one-off growth of the heap (thread arenas) stays small beside six steps
    inside = rss_mib()
print(json.dumps({"plain": plain, "kept": kept, "inside": inside, "after": rss_mib()}))
"""


@pytest.mark.skipif(heap._glibc() is None, reason="the C library is not glibc")
def test_freed_blocks_are_reused_inside_a_job_and_given_back_after() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    numbers = json.loads(out.stdout)
    assert numbers["plain"] > 20_000  # every step maps fresh zeroed pages for its activations
    assert numbers["kept"] < numbers["plain"] / 20  # inside, the steps reuse the kept ones
    assert numbers["after"] < numbers["inside"] - 32  # the kept memory went back to the system
