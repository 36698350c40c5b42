"""retrograd.memory: freed arrays' pages stay in the process, so a repeated step does not page-fault."""
import os
import platform
import subprocess
import sys

import pytest

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# One "training step" of allocations: eight 4 MiB arrays written and freed together. Under glibc's
# default thresholds, the 32 MiB freed at the top of the heap exceeds its trim threshold (twice the
# largest freed block) and goes back to the kernel, so every step faults its pages in again.
STEP_FAULTS = """
import resource, numpy as np, retrograd
def step():
    arrays = [np.ones(2**20, np.float32) for _ in range(8)]
    del arrays
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(retrograd.memory.retaining_freed_memory, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def _run(retain):
    env = dict(os.environ, RETROGRAD_RETAIN_FREED_MEMORY="1" if retain else "0")
    out = subprocess.run([sys.executable, "-c", STEP_FAULTS], env=env, capture_output=True, text=True, check=True)
    flag, faults = out.stdout.split()
    return flag == "True", float(faults)


@pytest.mark.skipif(not GLIBC, reason="the malloc settings are glibc's; elsewhere nothing is changed")
def test_retained_memory_removes_the_page_faults_of_a_repeated_step():
    retained, faults_retained = _run(retain=True)
    default, faults_default = _run(retain=False)
    assert retained and not default
    assert faults_default > 1000  # much of 32 MiB of 4 KiB pages, faulted in again each step
    assert faults_retained < 100


def test_retain_freed_memory_reports_whether_it_applies():
    import retrograd

    assert retrograd.memory.retain_freed_memory() is GLIBC
    assert retrograd.memory.retaining_freed_memory is GLIBC
