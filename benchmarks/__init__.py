"""retrograd's benchmarks: the reference workloads (workloads.py), their PyTorch twin (torch_workloads.py) and
the side-by-side harness (harness.py).

Installed as `retrograd.benchmarks` (see setup.py); `retrograd bench` is the command line.
"""
