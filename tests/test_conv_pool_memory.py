"""What the conv and pool backward passes keep alive between forward and backward: each VJP closure
captures exactly the arrays that its op's docstring "Saves" line names (never a Tensor), and the
intermediates its formula does not read -- the padded input, the copied windows, the im2col columns of a
frozen layer -- are freed when the forward returns."""
import gc
import weakref

import numpy as np
import pytest

import retrograd as rg
from helpers import closure_arrays, saves_names
from retrograd.ops import conv, kernels, pool, window

rng = np.random.default_rng(0)


def _t(*shape, grad=True):
    return rg.tensor(rng.standard_normal(shape), requires_grad=grad)


# (id, the forward, the arrays its node's closure must hold)
CASES = [
    ("conv2d", lambda: conv.conv2d(_t(2, 3, 7, 7), _t(4, 3, 3, 3), _t(4)), {"cols", "w_groups"}),
    ("conv2d strided, padded, dilated, grouped", lambda: conv.conv2d(_t(2, 4, 9, 9), _t(4, 2, 3, 3), None, 2, 1, 2, 2),
     {"cols", "w_groups"}),
    ("conv2d first layer", lambda: conv.conv2d(_t(2, 3, 7, 7, grad=False), _t(4, 3, 3, 3), _t(4)), {"cols"}),
    ("conv2d frozen weight", lambda: conv.conv2d(_t(2, 3, 7, 7), _t(4, 3, 3, 3, grad=False)), {"w_groups"}),
    ("max_pool2d tiles", lambda: pool.max_pool2d(_t(2, 3, 8, 8), 2), {"choice"}),
    ("max_pool2d overlapping", lambda: pool.max_pool2d(_t(2, 3, 9, 8), 3, 2, 1, ceil_mode=True), {"choice"}),
    ("max_pool2d indices", lambda: pool.max_pool2d(_t(2, 3, 9, 8), 3, 1, return_indices=True)[0], {"choice"}),
    ("max_pool2d split", lambda: pool.max_pool2d(_t(2, 3, 8, 8), 2, ties="split"), {"choice"}),
    ("max_pool2d random", lambda: pool.max_pool2d(_t(2, 3, 8, 8), 3, 1, 1, ties="random"), {"choice"}),
    ("adaptive_max_pool2d", lambda: pool.adaptive_max_pool2d(_t(2, 3, 8, 8), 2), {"choice"}),
    ("avg_pool2d", lambda: pool.avg_pool2d(_t(2, 3, 9, 8), 3, 2, 1, count_include_pad=False), {"divisor"}),
    ("avg_pool2d divisor_override", lambda: pool.avg_pool2d(_t(2, 3, 8, 8), 2, divisor_override=3), {"divisor"}),
    ("adaptive_avg_pool2d", lambda: pool.adaptive_avg_pool2d(_t(2, 3, 8, 8), 4), {"divisor"}),
    ("max_unpool2d", lambda: pool.max_unpool2d(_t(2, 3, 4, 4), rg.tensor(rng.integers(0, 64, (2, 3, 4, 4))), 2),
     {"index"}),
]


@pytest.mark.parametrize("forward, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_the_closure_holds_exactly_what_the_saves_line_names(forward, expected):
    node = forward().grad_fn
    held = closure_arrays(node.backward_fn)
    assert set(held) == expected, f"{node.op.__name__} holds {sorted(held)}, expected {sorted(expected)}"
    assert set(held) <= saves_names(node.op)[0], f"{node.op.__name__}'s Saves line does not name all of {held}"


def test_max_pool_saves_one_small_integer_per_window_not_the_input_or_its_windows():
    """PyTorch saves an int64 index per window (and the input); retrograd saves the window offset of the
    chosen entry in the smallest integer type that holds it: one byte per window for windows up to 127 entries."""
    x = _t(4, 3, 16, 16)
    for kwargs in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1},
                   {"kernel_size": 3, "stride": 2, "ceil_mode": True}):
        y = pool.max_pool2d(x, **kwargs)
        held = closure_arrays(y.grad_fn.backward_fn)
        assert sum(a.nbytes for a in held.values()) == y.numel(), kwargs
    y = pool.max_pool2d(x, 2, ties="split")  # the mask of tied maxima: one bool per window entry
    assert sum(a.nbytes for a in closure_arrays(y.grad_fn.backward_fn).values()) == 4 * y.numel()


@pytest.fixture
def made_arrays(monkeypatch):
    """Weak references to the arrays that np.pad, window.gathered and np.matmul make while an op runs."""
    made = {"pad": [], "gathered": [], "matmul operand": []}

    def watch(function, key, pick=lambda result, args: result):
        def watched(*args, **kwargs):
            result = function(*args, **kwargs)
            made[key].append(weakref.ref(pick(result, args)))
            return result
        return watched

    monkeypatch.setattr(np, "pad", watch(np.pad, "pad"))
    monkeypatch.setattr(window, "gathered", watch(window.gathered, "gathered"))
    monkeypatch.setattr(np, "matmul", watch(np.matmul, "matmul operand", lambda result, args: args[1]))
    return made


def _alive(refs):
    gc.collect()
    return [ref for ref in refs if ref() is not None]


@pytest.fixture(params=["numpy", "numba"])
def kernel_mode(request):
    """Runs a test with the compiled kernels off (the NumPy code copies the windows), then on (they read the
    padded input in place); restores the process's choice."""
    previous = kernels.set_enabled(request.param == "numba")
    yield request.param
    kernels.set_enabled(previous)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ties", ["first", "split", "random"])
def test_max_pool_frees_the_padded_input_and_the_windows_after_the_forward(made_arrays, ties, kernel_mode, dtype):
    y = pool.max_pool2d(rg.tensor(rng.standard_normal((2, 3, 9, 9)).astype(dtype), requires_grad=True), 3, 2, 1,
                        ties=ties)
    # the windows are copied by the NumPy passes: without kernels, and for float64 (its forward keeps NumPy's)
    assert made_arrays["pad"] and bool(made_arrays["gathered"]) == (kernel_mode == "numpy" or dtype == np.float64)
    assert not _alive(made_arrays["pad"] + made_arrays["gathered"])
    y.backward(rg.ones(*y.shape, dtype=dtype))  # and the backward still works from what is left


def test_avg_pool_frees_the_padded_input_and_the_windows_after_the_forward(made_arrays):
    y = pool.avg_pool2d(_t(2, 3, 9, 9), 3, 2, 1)
    assert made_arrays["pad"] and made_arrays["gathered"] and not _alive(made_arrays["pad"] + made_arrays["gathered"])
    y.backward(rg.ones(*y.shape, dtype=rg.float64))


def test_conv_frees_the_padded_input_and_a_frozen_layers_columns(made_arrays):
    x = _t(2, 3, 7, 7)
    frozen = conv.conv2d(x, _t(4, 3, 3, 3, grad=False), padding=1)
    assert made_arrays["pad"] and not _alive(made_arrays["pad"])
    assert not _alive(made_arrays["matmul operand"])  # the columns: dL/dx does not read them
    trained = conv.conv2d(x, _t(4, 3, 3, 3), padding=1)
    assert len(_alive(made_arrays["matmul operand"])) == 1  # dL/dw does
    (frozen.sum() + trained.sum()).backward()
