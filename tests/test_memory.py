"""retrograd.memory: freed arrays' pages stay in the process once training starts, never on import alone."""
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
import resource, sys, numpy as np, retrograd
retrograd.memory.retain_freed_memory(sys.argv[1] == "on")
def step():
    arrays = [np.ones(2**20, np.float32) for _ in range(8)]
    del arrays
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(retrograd.memory.retaining_freed_memory, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""

# Every lookup of a C function through ctypes.CDLL is recorded from before `import retrograd`; then a
# training loop (fit) starts, with the environment variable as the test sets it.
IMPORT_THEN_FIT = """
import ctypes
looked_up = []

class RecordingCDLL(ctypes.CDLL):
    def __getattr__(self, name):
        looked_up.append(name)
        return super().__getattr__(name)

ctypes.CDLL = RecordingCDLL
import retrograd as rg
print("import", rg.memory.retaining_freed_memory, "mallopt" in looked_up)
x, y = rg.randn(8, 3), rg.randn(8, 1)
model = rg.nn.Linear(3, 1)
rg.train.fit(model, rg.nn.MSELoss(), rg.optim.SGD(model.parameters(), lr=0.1), [(x, y)], progress=False, log=None)
print("fit", rg.memory.retaining_freed_memory, "mallopt" in looked_up)
"""


def _python(script, *args, switch=None):
    """The script's printed words, run with RETROGRAD_RETAIN_FREED_MEMORY set to `switch` (None: unset)."""
    env = {name: value for name, value in os.environ.items() if name != "RETROGRAD_RETAIN_FREED_MEMORY"}
    if switch is not None:
        env["RETROGRAD_RETAIN_FREED_MEMORY"] = switch
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout.split()


def _faults(retain):
    flag, faults = _python(STEP_FAULTS, "on" if retain else "off")
    return flag == "True", float(faults)


@pytest.mark.skipif(not GLIBC, reason="the malloc settings are glibc's; elsewhere nothing is changed")
def test_retained_memory_removes_the_page_faults_of_a_repeated_step():
    retained, faults_retained = _faults(retain=True)
    default, faults_default = _faults(retain=False)
    assert retained and not default
    assert faults_default > 1000  # much of 32 MiB of 4 KiB pages, faulted in again each step
    assert faults_retained < 100


def test_import_leaves_malloc_alone_and_fit_turns_retention_on():
    assert _python(IMPORT_THEN_FIT) == ["import", "False", "False", "fit", str(GLIBC), str(GLIBC)]


def test_the_environment_variable_keeps_retention_off_when_training_starts():
    out = _python(IMPORT_THEN_FIT, switch="0")
    assert out == ["import", "False", "False", "fit", "False", "False"]


def test_an_explicit_choice_wins_over_training_and_can_be_undone(monkeypatch):
    from retrograd import memory

    monkeypatch.delenv("RETROGRAD_RETAIN_FREED_MEMORY", raising=False)
    before = memory.retaining_freed_memory
    try:
        assert memory.retain_freed_memory(False) is False
        assert memory.retain_for_training() is False  # the user said no: training does not overrule it
        assert memory.retain_freed_memory() is GLIBC
        assert memory.retaining_freed_memory is GLIBC
        assert memory.retain_for_training() is GLIBC
    finally:
        memory.retain_freed_memory(before)
        memory._chosen = None


# `retrograd bench` times each workload in a fresh process running retrograd/bench/workloads.py: its run()
# must turn retention on before the timed steps, as importing retrograd did before.
BENCH_WORKLOAD = """
from retrograd import memory
from retrograd.bench import workloads
print(memory.retaining_freed_memory)
workloads.run("mlp_tiny", steps=1, warmup=0)
print(memory.retaining_freed_memory)
"""


def test_a_bench_workload_turns_retention_on_before_its_timed_steps():
    assert _python(BENCH_WORKLOAD) == ["False", str(GLIBC)]
