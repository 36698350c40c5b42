"""retrograd's benchmarks: the reference workloads (workloads.py), their PyTorch twin (torch_workloads.py), the
side-by-side harness (harness.py) and the graph-memory count (graph_memory.py).

One package, `retrograd.bench`, in the source tree and in any install; `retrograd bench` is the command line,
and `python -m retrograd.bench.workloads --workload mlp` (or the file run as a script) times one workload.
"""
