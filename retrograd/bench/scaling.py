"""Data-parallel scaling: the reference workloads trained by N processes through DistributedDataParallel.

    mpiexec -n 2 python -m retrograd.bench.scaling --workload mlp lstm [--split] [--steps 100] [--json]
    python -m retrograd.bench.scaling --workload mlp lstm          # one process: plain training, no DDP

Each process runs the workload's own step (workloads.py: same model, data, optimizer) on its own batch, so
N processes train on N times the samples per step (PyTorch DDP's usual setting); with --split they share
each batch instead (rows rank, rank + N, ...), as `retrograd train` does. Rank 0 prints, per workload: the
median (and fastest) step time, the samples per second of all processes together, the median (and fastest)
time of one blocking all-reduce of all the parameters alone (what DDP adds per step if nothing overlaps), and
the bytes each
process sends per step in a ring all-reduce, 2 x parameter bytes x (N - 1) / N, with which the time on N
machines can be estimated: step time + that volume / the network's bandwidth, less what overlaps.
Set OMP_NUM_THREADS (or OPENBLAS_NUM_THREADS) for each process before starting: numpy reads it at import.
"""
import argparse
import json
import statistics
import time

import numpy as np

from .. import distributed as dist
from ..distributed.collectives import ReduceOp, start_all_reduce, wait_for
from ..memory import retain_for_training
from ..nn.parallel import DistributedDataParallel
from . import workloads

TRAINING = [name for name in workloads.MODELS]


def samples_per_batch(name):
    """What one batch holds: images for the feed-forward workloads, characters (rows x steps) for the others."""
    if name in workloads.RECURRENT:
        return workloads.RNN_BATCH * workloads.SEQ
    return workloads.INPUT_SHAPES[name][0]


def shard(batches, rank, world):
    return [(x[rank::world], y.reshape(x.shape[0], -1)[rank::world].reshape(-1)) for x, y in batches]


def all_reduce_seconds(parameters, dtype, repeats):
    """(median, fastest) time of a blocking all-reduce of a buffer holding every parameter, after a barrier
    each time (on a machine running more processes than cores, the median includes waits for a time slice)."""
    group = dist.process_group.default_group()
    buffer = np.ones(parameters, dtype)
    times = []
    for _ in range(repeats):
        dist.barrier()
        start = time.perf_counter()
        wait_for(start_all_reduce(buffer, ReduceOp.SUM, group), group, "all_reduce", 60.0)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def measure(name, steps, warmup, split, dtype="float32"):
    world = dist.get_world_size() if dist.is_initialized() else 1
    rank = dist.get_rank() if dist.is_initialized() else 0
    wrap = DistributedDataParallel if world > 1 else None
    step, parameters, _ = workloads.training_step(name, np.dtype(dtype), wrap=wrap)
    batches = workloads.as_retrograd_batches(name, workloads.make_data(name, np.dtype(dtype)))
    if split and world > 1:
        batches = shard(batches, rank, world)
    times, _ = workloads.time_steps(step, batches, warmup, steps)
    step_s = statistics.median(times)
    samples = samples_per_batch(name) * (1 if split else world)
    reduce_s, fastest_s = all_reduce_seconds(parameters, dtype, 50) if world > 1 else (0.0, 0.0)
    param_bytes = parameters * np.dtype(dtype).itemsize
    return {"workload": name, "processes": world, "split": bool(split), "step_ms": step_s * 1e3,
            "fastest_step_ms": min(times) * 1e3, "samples_per_s": samples / step_s,
            "all_reduce_ms": reduce_s * 1e3, "fastest_all_reduce_ms": fastest_s * 1e3, "parameter_bytes": param_bytes,
            "ring_bytes_per_process": 2 * param_bytes * (world - 1) / world}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", nargs="+", choices=TRAINING, default=["mlp", "lstm"])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--split", action="store_true", help="the processes share each batch instead")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if dist.launched_world_size() > 1:
        dist.init_process_group("mpi")
    retain_for_training()
    for name in args.workload:
        row = measure(name, args.steps, args.warmup, args.split)
        if row and (not dist.is_initialized() or dist.get_rank() == 0):
            print(json.dumps(row) if args.json else
                  f"{name:<8} {row['processes']} process(es){' (split)' if row['split'] else ''}: step "
                  f"{row['step_ms']:.2f} ms, {row['samples_per_s']:,.0f} samples/s, all-reduce of "
                  f"{row['parameter_bytes'] / 1e6:.2f} MB {row['all_reduce_ms']:.2f} ms", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
