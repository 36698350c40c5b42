import numpy as np
import torch

import retrograd as rg
from helpers import assert_parity, numerical_check


def test_chain_parity():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    assert_parity(lambda x, w: rg.tanh(x @ w) * 0.1 + x.sum() , lambda x, w: torch.tanh(x @ w) * 0.1 + x.sum(), a, b)
    numerical_check(lambda x, w: rg.tanh(x @ w) * 0.1, a, b)
