"""Run under `mpiexec -n 2` by tests/test_distributed.py: `retrograd train` whose training fails on rank 1
only (after both ranks built DistributedDataParallel). Rank 0 would wait in its first gradient all-reduce;
the job must instead print rank 1's error and end both ranks."""
import os
import sys

import retrograd as rg
from retrograd import cli

if os.environ.get("PMI_RANK") == "1":  # the rank Hydra (the mpich wheel's mpiexec) gave this process
    def fit(*args, **kwargs):
        raise RuntimeError("training failed on purpose")

    rg.train.fit = fit
sys.exit(cli.main(["train", "--model", "mlp", "--hidden", "8", "--epochs", "1", "--train-size", "200",
                   "--val-size", "50", "--no-gradcheck", "--quiet", "--out", sys.argv[1]]))
