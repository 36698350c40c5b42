"""Run under `mpiexec -n 2` by tests/test_distributed.py: DistributedDataParallel with each rank given half
of every batch ends with the parameters of one process given the whole batch (float64, rtol 1e-12). With
BatchNorm in training mode each rank normalises with its half's statistics, so the reference is two
replicas sharing parameters; with SyncBatchNorm the reference is one BatchNorm on the whole batch.

Every rank computes the one-process reference itself (same seeds, same data), so one launch checks it all.
Rank 1 builds its model from another seed: only DDP's broadcast from rank 0 makes the replicas equal.
Prints one line per case; any mismatch raises (and aborts every rank)."""
import numpy as np

import retrograd as rg
import retrograd.distributed as dist
from retrograd import nn
from retrograd.nn.parallel import DistributedDataParallel

BATCH, STEPS = 8, 4


class LastStep(nn.Module):
    """An LSTM read out at its last time step."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        output, _ = self.lstm(x)
        return self.head(output[:, -1])


def build(kind, seed):
    rg.manual_seed(seed)
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
    elif kind.startswith("cnn"):
        # no conv bias before BatchNorm: its gradient is zero up to rounding, which Adam would blow up to lr
        model = nn.Sequential(nn.Conv2d(1, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(4 * 3 * 3, 3))
    else:
        model = LastStep()
    return model.double()


def batch(kind, step):
    rng = np.random.default_rng(100 + step)
    shape = {"mlp": (BATCH, 6), "lstm": (BATCH, 5, 4)}.get(kind, (BATCH, 1, 8, 8))
    return rg.tensor(rng.standard_normal(shape)), rg.tensor(rng.integers(0, 3, BATCH))


def optimizer_for(name, params):
    return rg.optim.SGD(params, lr=0.1, momentum=0.9) if name == "sgd" else rg.optim.Adam(params, lr=0.01)


def share_parameters(replica, source):
    """Make `replica` use `source`'s Parameter objects (two replicas of one model, as DDP's ranks are)."""
    for name, param in source.named_parameters():
        owner, _, leaf = name.rpartition(".")
        setattr(replica.get_submodule(owner) if owner else replica, leaf, param)


def reference(kind, optimizer_name):
    """One process. With BatchNorm in training mode, DDP's ranks normalise with their own half's statistics
    and take rank 0's running statistics before each forward: the reference is two replicas sharing the
    parameters, replica r run on half r, replica 1 given replica 0's buffers before each step. Otherwise one
    model on the whole batch (BatchNorm in eval mode normalises with fixed statistics)."""
    replicas = [build(kind, 0)]  # (cnn_syncbn_train: plain BatchNorm on the whole batch)
    if kind == "cnn_bn_train":
        replicas.append(build(kind, 0))
        share_parameters(replicas[1], replicas[0])
    for model in replicas:
        model.train(kind != "cnn_bn_eval")
    optimizer = optimizer_for(optimizer_name, replicas[0].parameters())
    loss_fn = nn.CrossEntropyLoss()
    for step in range(STEPS):
        x, y = batch(kind, step)
        optimizer.zero_grad()
        if len(replicas) == 1:
            loss = loss_fn(replicas[0](x), y)
        else:
            for mine, rank0 in zip(replicas[1].buffers(), replicas[0].buffers()):
                mine.array[...] = rank0.array
            half = BATCH // 2
            loss = (loss_fn(replicas[0](x[:half]), y[:half]) + loss_fn(replicas[1](x[half:]), y[half:])) / 2
        loss.backward()
        optimizer.step()
    return replicas


def data_parallel(kind, optimizer_name, rank, world, bucket_cap_mb):
    model = build(kind, rank)
    if kind == "cnn_syncbn_train":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = DistributedDataParallel(model, bucket_cap_mb=bucket_cap_mb)
    model.train(kind != "cnn_bn_eval")
    optimizer = optimizer_for(optimizer_name, model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    share = BATCH // world
    for step in range(STEPS):
        x, y = batch(kind, step)
        optimizer.zero_grad()
        loss_fn(model(x[rank * share:(rank + 1) * share]), y[rank * share:(rank + 1) * share]).backward()
        optimizer.step()
    return model


def assert_equal(ours, theirs, what):
    for (name, mine), expected in zip(ours, theirs):
        np.testing.assert_allclose(mine.array, expected.array, rtol=1e-12, atol=0, err_msg=f"{what}: {name}")


def check(kind, optimizer_name, bucket_cap_mb=None):
    rank, world = dist.get_rank(), dist.get_world_size()
    replicas = reference(kind, optimizer_name)
    model = data_parallel(kind, optimizer_name, rank, world, bucket_cap_mb)
    what = f"{kind} {optimizer_name} rank {rank}"
    assert_equal(model.module.named_parameters(), replicas[0].parameters(), what)
    if kind == "cnn_bn_train":  # each rank's running statistics are its replica's
        assert_equal(model.module.named_buffers(), replicas[rank].buffers(), what + " buffers")
    if kind == "cnn_syncbn_train":  # SyncBatchNorm: the whole batch's statistics, on every rank
        assert_equal(model.module.named_buffers(), replicas[0].buffers(), what + " buffers")
    assert list(model.module.state_dict()) == list(replicas[0].state_dict())
    assert all(key.startswith("module.") for key in model.state_dict())
    print(f"rank {rank}: {what} equal after {STEPS} steps (buckets {model.bucket_sizes})", flush=True)


def check_no_sync():
    """Gradient accumulation: a no_sync backward, then a synchronised one, averages the accumulated sum."""
    rank, world = dist.get_rank(), dist.get_world_size()
    single = build("mlp", 0)
    model = DistributedDataParallel(build("mlp", rank))
    loss_fn = nn.CrossEntropyLoss()
    share = BATCH // world
    for micro in range(2):
        x, y = batch("mlp", micro)
        loss_fn(single(x), y).backward()
        mine = slice(rank * share, (rank + 1) * share)
        if micro == 0:
            with model.no_sync():
                loss_fn(model(x[mine]), y[mine]).backward()
            local = [p.grad.array.copy() for p in model.parameters()]
        else:
            loss_fn(model(x[mine]), y[mine]).backward()
    for (name, mine), expected in zip(model.module.named_parameters(), single.parameters()):
        np.testing.assert_allclose(mine.grad.array, expected.grad.array, rtol=1e-12, err_msg=f"no_sync: {name}")
    gathered = [rg.zeros(2, dtype=rg.float64) for _ in range(world)]
    dist.all_gather(gathered, rg.tensor([local[0][0, 0], model.module[0].weight.grad.array[0, 0]], dtype=rg.float64))
    assert gathered[0][0].item() != gathered[1][0].item(), "no_sync must leave each rank's own gradient"
    print(f"rank {rank}: no_sync accumulates, then averages the sum", flush=True)


def check_buckets_start_during_backward():
    """A bucket's all-reduce starts as soon as its gradients are ready, before backward reaches the first
    layer (whose gradients come last): the overlap of communication with the rest of backward."""
    import retrograd.nn.parallel.distributed as ddp_module

    events = []
    start_all_reduce = ddp_module.start_all_reduce

    def logged(array, op, group):
        events.append(f"start {array.size}")
        return start_all_reduce(array, op, group)

    ddp_module.start_all_reduce = logged
    module = build("mlp", 0)
    module[0].weight.register_post_accumulate_grad_hook(lambda p: events.append("first layer ready"))
    model = DistributedDataParallel(module, bucket_cap_mb=0.001)  # buckets of <= 1 kB
    events.clear()  # (the model check at construction all-reduces too)
    x, y = batch("mlp", 0)
    nn.CrossEntropyLoss()(model(x), y).backward()
    ddp_module.start_all_reduce = start_all_reduce
    first, second = (bucket.flat.size for bucket in model._reducer.buckets)  # layers 3 and 2; layer 1
    assert events == [f"start {first}", "first layer ready", f"start {second}"], events
    print(f"rank {dist.get_rank()}: buckets start during backward: {events}", flush=True)


if __name__ == "__main__":
    dist.init_process_group("mpi")
    assert dist.get_world_size() == 2, "run with mpiexec -n 2"
    for kind in ("mlp", "cnn_bn_train", "cnn_syncbn_train", "cnn_bn_eval", "lstm"):
        for optimizer_name in ("sgd", "adam"):
            check(kind, optimizer_name)
    check("mlp", "adam", bucket_cap_mb=0.001)  # one bucket per parameter or two: buckets start in order
    check("lstm", "sgd", bucket_cap_mb=0.0005)
    check_no_sync()
    check_buckets_start_during_backward()
    dist.destroy_process_group()
