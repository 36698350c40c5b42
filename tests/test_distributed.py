"""retrograd.distributed, DistributedDataParallel and DistributedSampler.

The collectives and DDP run for real: each MPI test starts `mpiexec -n 2` (the one the distributed extra
installs next to this Python) on a script in tests/mpi_scripts/, which asserts on every rank and aborts all
ranks on a failure. The rest runs in this process without MPI (nothing here calls init_process_group)."""
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import retrograd as rg
import retrograd.distributed as dist
from retrograd import cli, nn
from retrograd.data import DistributedSampler
from retrograd.nn.parallel import DistributedDataParallel
from retrograd.nn.parallel.distributed import assign_buckets

SCRIPTS = pathlib.Path(__file__).parent / "mpi_scripts"
MPIEXEC = pathlib.Path(sys.executable).parent / "mpiexec"


def run_mpi(script, *args, timeout=120):
    """`mpiexec -n 2 python script args`: (exit status, stdout + stderr, seconds). One BLAS thread per rank:
    the two ranks share the machine's cores."""
    assert MPIEXEC.exists(), f"no mpiexec next to {sys.executable}: install the extra, pip install -e '.[distributed]'"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    started = time.monotonic()
    done = subprocess.run([str(MPIEXEC), "-n", "2", sys.executable, str(SCRIPTS / script), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


# ----- under mpiexec -n 2 ----------------------------------------------------------------------------------
def test_two_processes_on_half_batches_end_where_one_process_on_whole_batches_ends():
    """MLP, CNN with BatchNorm (training and eval mode) and SyncBatchNorm, LSTM, SGD with momentum and Adam, float64,
    rtol 1e-12; several bucket layouts; no_sync accumulation; the state_dict keys through .module."""
    status, output, _ = run_mpi("ddp_matches_one_process.py")
    assert status == 0, output
    for case in ("mlp sgd", "mlp adam", "cnn_bn_train sgd", "cnn_bn_train adam", "cnn_syncbn_train sgd",
                 "cnn_syncbn_train adam", "cnn_bn_eval adam", "lstm sgd", "lstm adam"):
        for rank in (0, 1):
            assert f"{case} rank {rank} equal after 4 steps" in output, output
    assert "buckets [4, 2]" in output and "buckets [4, 1, 1]" in output  # several buckets, started in order
    assert output.count("no_sync accumulates, then averages the sum") == 2
    assert output.count("buckets start during backward") == 2


def test_collectives_and_the_sampler_under_mpi():
    status, output, _ = run_mpi("collectives.py")
    assert status == 0, output
    assert output.count("collectives and sampler behave") == 2


@pytest.mark.parametrize("mode, says", [("raise", "rank 1 failed on purpose"),
                                        ("timeout", "all_reduce timed out after 1 s on rank 0 of 2")])
def test_a_failing_rank_ends_every_rank_with_an_error_instead_of_a_hang(mode, says):
    """Expected within a few seconds (rank 1 would otherwise sleep 120 s, or wait for ever); the
    subprocess timeout is far above that."""
    status, output, seconds = run_mpi("failing_rank.py", mode, timeout=90)
    assert status != 0 and says in output, output
    assert "finished, which it must not" not in output
    assert seconds < 60, f"{seconds:.0f} s: the ranks waited instead of aborting"


def run_mpi_command(*command, timeout=120):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([str(MPIEXEC), "-n", "2", sys.executable, *command], env=env, capture_output=True,
                          text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr


def _val_losses(output):
    return [float(line.split("val_loss ")[1].split()[0]) for line in output.splitlines() if "val_loss " in line]


def test_retrograd_train_under_mpiexec_trains_data_parallel_prints_once_and_resumes(tmp_path, capsys):
    """Two processes on half of each batch train the model one process trains (float32: to rounding); only
    rank 0 prints and saves, with the model's own state_dict keys; both ranks resume from the checkpoint."""
    args = ["train", "--model", "mlp", "--hidden", "32", "--epochs", "1", "--train-size", "400", "--val-size",
            "100", "--batch-size", "50", "--no-gradcheck", "--quiet", "--out"]
    status, output = run_mpi_command("-m", "retrograd", *args, str(tmp_path / "two"))
    assert status == 0, output
    assert output.count("MNIST (embedded test set)") == 1 and output.count("data-parallel over 2 processes") == 1
    assert cli.main([*args, str(tmp_path / "one")]) == 0
    single = capsys.readouterr().out
    np.testing.assert_allclose(_val_losses(output), _val_losses(single), rtol=1e-4)
    two, one = (rg.load(tmp_path / name / "checkpoint.safetensors")["model"] for name in ("two", "one"))
    assert list(two) == list(one) and not any(key.startswith("module.") for key in two)
    for key in one:
        np.testing.assert_allclose(two[key].numpy(), one[key].numpy(), rtol=1e-4, atol=1e-6)

    args[args.index("--epochs") + 1] = "2"
    status, output = run_mpi_command("-m", "retrograd", *args, str(tmp_path / "two"), "--resume",
                                     str(tmp_path / "two" / "checkpoint.safetensors"))
    assert status == 0, output
    assert output.count("resumed from") == 1 and output.count("epoch 2:") == 1


def test_the_text_job_under_mpiexec_shards_the_stateful_rows_and_stops_all_ranks_together(tmp_path):
    """--minutes: every rank stops after the same segment (a vote), or one would wait in an all-reduce."""
    status, output = run_mpi_command("-m", "retrograd", "train", "--data", "text", "--model", "gru", "--hidden", "8",
                                     "--k1", "10", "--batch-size", "4", "--minutes", "0.0001", "--sample-length",
                                     "5", "--quiet", "--out", str(tmp_path))
    assert status == 0, output
    assert output.count("time budget of 0.0001 minutes reached") == 1 and output.count("sample (") == 1
    assert (tmp_path / "checkpoint.safetensors").exists()


def test_the_scaling_bench_runs_a_workload_through_ddp_and_times_the_all_reduce():
    status, output = run_mpi_command("-m", "retrograd.bench.scaling", "--workload", "mlp_tiny", "--steps", "3",
                                     "--warmup", "1", "--split", "--json")
    assert status == 0, output
    rows = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert len(rows) == 1, output  # rank 0 alone prints
    row = rows[0]
    assert row["processes"] == 2 and row["split"] and row["step_ms"] > 0 and row["all_reduce_ms"] > 0
    params = (64 * 32 + 32) + (32 * 10 + 10)  # mlp_tiny: Linear 64-32-10, float32
    assert row["parameter_bytes"] == 4 * params and row["ring_bytes_per_process"] == 4 * params  # 2 P (N-1)/N


def test_a_job_failing_on_one_rank_ends_every_rank(tmp_path):
    started = time.monotonic()
    status, output = run_mpi_command(str(SCRIPTS / "train_job_fails_on_one_rank.py"), str(tmp_path), timeout=90)
    assert status != 0 and "retrograd: error on rank 1 of 2: training failed on purpose" in output, output
    assert time.monotonic() - started < 60


# ----- no MPI needed -----------------------------------------------------------------------------------------
def test_importing_retrograd_does_not_import_mpi4py():
    code = "import sys, retrograd, retrograd.distributed, retrograd.nn.parallel; print('mpi4py' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_without_mpi4py_the_error_names_the_extra(monkeypatch):
    import retrograd.distributed.mpi as mpi_module

    def missing(name):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(mpi_module.importlib, "import_module", missing)
    with pytest.raises(ImportError, match=r'pip install "retrograd\[distributed\]"'):
        dist.init_process_group("mpi")
    assert not dist.is_mpi_available() and not dist.is_initialized()


def test_without_a_process_group_the_errors_are_pytorchs():
    import torch.distributed as torch_dist

    calls = [(dist.get_rank, torch_dist.get_rank), (dist.get_world_size, torch_dist.get_world_size),
             (dist.barrier, torch_dist.barrier), (lambda: dist.all_reduce(rg.ones(2)),
                                                  lambda: torch_dist.all_reduce(torch.ones(2)))]
    for ours, theirs in calls:
        with pytest.raises(ValueError) as our_error:
            ours()
        with pytest.raises(ValueError) as their_error:
            theirs()
        assert str(our_error.value) == str(their_error.value)
    with pytest.raises(ValueError, match="has not been initialized"):
        DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="has not been initialized"):
        DistributedSampler(list(range(4)))


def test_init_process_group_refuses_what_mpi_cannot_do():
    import datetime

    with pytest.raises(ValueError, match="backend 'gloo' is not available in retrograd; the only backend is 'mpi'"):
        dist.init_process_group("gloo")
    with pytest.raises(TypeError, match="Expected timeout argument to be of type datetime.timedelta, got 5"):
        dist.init_process_group("mpi", timeout=5)
    with pytest.raises(ValueError, match="timeout must be positive"):
        dist.init_process_group("mpi", timeout=datetime.timedelta(0))
    assert not dist.is_initialized()


@pytest.mark.parametrize("environ, size", [({}, 1), ({"PMI_SIZE": "4"}, 4), ({"OMPI_COMM_WORLD_SIZE": "2"}, 2),
                                           ({"PMI_SIZE": ""}, 1)])
def test_the_launchers_world_size_is_read_from_the_environment(environ, size):
    assert dist.launched_world_size(environ) == size


# ----- SyncBatchNorm's op, with one process ----------------------------------------------------------------------
def test_sync_batch_norm_with_one_process_is_batch_norm():
    """Its statistics and backward are batch_norm's when the parts are one (the 2-process case, against
    BatchNorm on the whole batch, runs in ddp_matches_one_process.py); and gradcheck passes."""
    from retrograd.ops import norm

    rng = np.random.default_rng(0)
    x, w, b, dout = (rng.standard_normal(shape) for shape in [(5, 3, 2, 2), (3,), (3,), (5, 3, 2, 2)])
    results = []
    for op in ("sync", "plain"):
        xs, ws, bs = (rg.tensor(a, requires_grad=True) for a in (x, w, b))
        stats = rg.zeros(3, dtype=rg.float64), rg.ones(3, dtype=rg.float64)
        if op == "sync":
            y = norm.sync_batch_norm(xs, *stats, ws, bs, 0.1, 1e-5, lambda *arrays: list(arrays))
        else:
            y = norm.batch_norm(xs, *stats, ws, bs, True, 0.1, 1e-5)
        (y * rg.tensor(dout)).sum().backward()
        results.append([y, xs.grad, ws.grad, bs.grad, *stats])
    for ours, reference in zip(*results):
        np.testing.assert_allclose(ours.detach().numpy(), reference.detach().numpy(), rtol=1e-12, atol=1e-14)
    stats = (None, None)
    assert rg.autograd.gradcheck(lambda *t: norm.sync_batch_norm(*t[:1], *stats, *t[1:], 0.1, 1e-5,
                                                                 lambda *arrays: list(arrays)),
                                 tuple(rg.tensor(a, requires_grad=True) for a in (x, w, b)))


def test_sync_batch_norm_layer_without_a_process_group_is_batch_norm_and_converts_models():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Sequential(nn.BatchNorm1d(3)))
    weight = model[1].weight
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert type(converted[1]) is nn.SyncBatchNorm and type(converted[2][0]) is nn.SyncBatchNorm
    assert converted[1].weight is weight and list(converted.state_dict()) == list(model.state_dict())
    x = rg.randn(4, 2, 3, 3)
    reference = nn.BatchNorm2d(2)
    np.testing.assert_array_equal(converted[1](x).detach().numpy(), reference(x).detach().numpy())
    np.testing.assert_array_equal(converted[1].running_var.numpy(), reference.running_var.numpy())


def test_buckets_take_parameters_in_reverse_order_by_size_and_dtype():
    params = [nn.Parameter(rg.zeros(n, dtype=dtype)) for n, dtype in
              [(100_000, rg.float64), (300_000, rg.float32), (200_000, rg.float64), (10, rg.float64)]]
    # default: the first bucket closes past 1 MiB (params 3 and 2: 1.6 MB), the rest by dtype under 25 MB
    assert assign_buckets(params) == [[3, 2], [1], [0]]
    assert assign_buckets(params, bucket_cap_mb=0.5) == [[3, 2], [1], [0]]
    assert assign_buckets(params, bucket_cap_mb=100) == [[3, 2, 0], [1]]
