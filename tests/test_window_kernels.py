"""The compiled window kernels (ops/window_kernels.py, the fast extra) against the NumPy code they replace.

Max pooling, every tie policy, is held to the NumPy path bit for bit (signed zeros and NaNs included): values,
PyTorch's indices, the input gradient, and for ties="random" the generator's state afterwards (the kernel
must draw exactly what the NumPy code draws). Inputs are small integers, so windows tie, with NaNs, -inf and
padding; cotangents have negative entries (an unchosen entry gets +0.0, a chosen -0.0 too) and, in one case, inf.
conv2d's columns, weight and bias gradients and its strided input gradient are the same bits too; for stride 1
the NumPy code computes the input gradient as kh*kw per-offset GEMMs, the kernels as one GEMM and col2im, so
there the two agree to a measured bound (within 1.5 ulp of the gradient's largest entry; asserted: 4).
Each case runs both tiers of kernels.compiled_for: the general kernel (the geometry a run-time argument) and
the one specialised to the geometry, which a layer gets once its calls have visited enough window entries.
"""
import numpy as np
import pytest

import retrograd as rg
from retrograd.ops import conv, conv_transpose, kernels, pool, window_kernels
from retrograd.random import default_generator

DTYPES = [np.float32, np.float64]
# (input shape, max_pool2d arguments): batch 1, odd sizes, tiling and overlapping windows, stride, padding,
# dilation, ceil_mode (whose last windows run past the input)
POOL_CASES = [
    ((2, 3, 8, 10), dict(kernel_size=2)),
    ((1, 2, 9, 11), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((3, 1, 10, 9), dict(kernel_size=(3, 2), stride=1, dilation=2)),
    ((2, 2, 7, 7), dict(kernel_size=3, stride=1, padding=1)),
    ((1, 3, 11, 6), dict(kernel_size=(2, 3), stride=(3, 1), padding=(1, 0), dilation=(2, 1), ceil_mode=True)),
]
SPECIALISED_POOL_CASES = [POOL_CASES[0], POOL_CASES[4]]  # each costs compilations: LeNet's, and every size unequal


def _set_tier(monkeypatch, tier):
    """compiled_for gives the general kernel on every call, or the specialised one from the first call on
    (compiled afresh for this test)."""
    monkeypatch.setattr(kernels, "SPECIALISE_AFTER", 10**18 if tier == "general" else 0)
    monkeypatch.setattr(kernels, "_specialised", {})
    monkeypatch.setattr(kernels, "_geometry_work", {})


@pytest.fixture(params=["general", "specialised"])
def tier(request, monkeypatch):
    """Kernels on, in each tier of compiled_for; restores the process's choice."""
    _set_tier(monkeypatch, request.param)
    previous = kernels.set_enabled(True)
    yield request.param
    kernels.set_enabled(previous)


def _same_bits(ours, reference):
    assert ours.dtype == reference.dtype and ours.shape == reference.shape
    if ours.dtype.kind == "f":
        ours, reference = ours.view(f"u{ours.itemsize}"), reference.view(f"u{reference.itemsize}")
    np.testing.assert_array_equal(ours, reference)


def _tied_input(shape, dtype, seed):
    """Entries in {0, 1, 2} (so most windows tie), a few -inf, and NaNs: one alone, two in one window."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, shape).astype(dtype)
    x.flat[rng.integers(0, x.size, 3)] = -np.inf
    x[0, 0, 1, 1] = np.nan
    x[-1, -1, -2:, -2:] = np.nan
    return x


def _pool_run(x, kwargs, ties, cotangent):
    """max_pool2d's output, indices and input gradient, and the generator's next draw after them."""
    t = rg.tensor(x, requires_grad=True)
    rg.manual_seed(5)
    y, indices = pool.max_pool2d(t, return_indices=True, ties=ties, **kwargs)
    y.backward(rg.tensor(cotangent(y.shape, x.dtype)))
    return y.detach().numpy(), indices.numpy(), t.grad.numpy(), default_generator.random(2)


def _normal_cotangent(shape, dtype):
    return np.random.default_rng(11).standard_normal(shape).astype(dtype)


def _infinite_cotangent(shape, dtype):
    g = _normal_cotangent(shape, dtype)
    g[0, 0, 0, 0] = np.inf  # inf * 0 would be NaN: the NumPy code selects instead, and so must the kernel
    return g


def _assert_pool_kernels_match_numpy(shape, kwargs, dtype, ties, cotangent=_normal_cotangent):
    x = _tied_input(shape, dtype, seed=sum(shape))
    with_kernels = _pool_run(x, kwargs, ties, cotangent)
    previous = kernels.set_enabled(False)
    try:
        numpy_only = _pool_run(x, kwargs, ties, cotangent)
    finally:
        kernels.set_enabled(previous)
    for ours, reference in zip(with_kernels, numpy_only):  # y, indices, dL/dx, the next draws
        _same_bits(ours, reference)


@pytest.mark.parametrize("ties", pool.TIE_POLICIES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,kwargs", POOL_CASES)
def test_general_max_pool_kernels_give_the_numpy_bits(monkeypatch, shape, kwargs, dtype, ties):
    monkeypatch.setattr(kernels, "SPECIALISE_AFTER", 10**18)
    previous = kernels.set_enabled(True)
    try:
        _assert_pool_kernels_match_numpy(shape, kwargs, dtype, ties)
        used = set(kernels.used())
    finally:
        kernels.set_enabled(previous)
    assert {"max_pool_first", "max_pool_backward_split" if ties == "split" else "max_pool_backward"} <= used


@pytest.mark.parametrize("ties", pool.TIE_POLICIES)
@pytest.mark.parametrize("shape,kwargs", SPECIALISED_POOL_CASES)
def test_specialised_max_pool_kernels_give_the_numpy_bits(monkeypatch, shape, kwargs, ties):
    monkeypatch.setattr(kernels, "SPECIALISE_AFTER", 0)
    monkeypatch.setattr(kernels, "_specialised", {})
    previous = kernels.set_enabled(True)
    try:
        _assert_pool_kernels_match_numpy(shape, kwargs, np.float32, ties)
        specialised = {key[0] for key in kernels._specialised}
    finally:
        kernels.set_enabled(previous)
    assert "max_pool_first" in specialised and len(specialised) == (2 if ties == "first" else 3)


@pytest.mark.parametrize("ties", pool.TIE_POLICIES)
def test_float64_max_pool_forward_keeps_the_numpy_passes(monkeypatch, ties):
    """Numba leaves max_pool_first's float64 loop scalar (2.6x slower than the NumPy passes), so float64 never asks
    for it; its backward kernels still run, and the results are the NumPy bits."""
    asked, real = [], kernels.compiled_for

    def recording(python_kernel, dtype, *args):
        asked.append((python_kernel.__name__, np.dtype(dtype)))
        return real(python_kernel, dtype, *args)

    monkeypatch.setattr(kernels, "compiled_for", recording)
    previous = kernels.set_enabled(True)
    try:
        _assert_pool_kernels_match_numpy((2, 3, 8, 8), dict(kernel_size=2), np.float64, ties)
        _assert_pool_kernels_match_numpy((2, 3, 8, 8), dict(kernel_size=2), np.float32, ties)
    finally:
        kernels.set_enabled(previous)
    backward = "max_pool_backward_split" if ties == "split" else "max_pool_backward"
    assert ("max_pool_first", np.dtype(np.float64)) not in asked and (backward, np.dtype(np.float64)) in asked
    assert ("max_pool_first", np.dtype(np.float32)) in asked


@pytest.mark.parametrize("ties", pool.TIE_POLICIES)
def test_max_pool_kernels_select_a_non_finite_gradient_as_numpy(tier, ties):
    _assert_pool_kernels_match_numpy((2, 2, 6, 6), dict(kernel_size=2), np.float32, ties, _infinite_cotangent)
    if tier == "general":  # and overlapping windows, which add (a specialised geometry costs compilations)
        _assert_pool_kernels_match_numpy((2, 2, 6, 6), dict(kernel_size=3, stride=1), np.float32, ties,
                                         _infinite_cotangent)


def test_the_lenet_pool_specialised_in_float32(tier):
    """The bench's geometry and dtype: 2x2 tiling windows in float32, both tiers."""
    _assert_pool_kernels_match_numpy((4, 6, 24, 24), dict(kernel_size=2), np.float32, "first")


def test_strided_inputs_and_cotangents_give_the_numpy_bits(tier):
    """Views (a transposed input, a cotangent read with a step) reach the kernels as strided arrays (conv's stride
    2: its input gradient is then the NumPy code's bits too)."""
    rng = np.random.default_rng(8)
    x = rng.integers(0, 3, (2, 3, 10, 9)).astype(np.float64).transpose(0, 1, 3, 2)  # (2, 3, 9, 10), not contiguous
    w, b = rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    cotangent = rg.from_numpy(rng.standard_normal((2, 4, 2, 6))[:, :, ::2, ::3])  # (2, 4, 1, 2), strided
    results = []
    for on in (True, False):
        kernels.set_enabled(on)
        leaves = [rg.from_numpy(a).requires_grad_() for a in (x, w, b)]  # from_numpy keeps x's strides
        assert not leaves[0].detach().numpy().flags.c_contiguous and not cotangent.numpy().flags.c_contiguous
        y = pool.max_pool2d(conv.conv2d(pool.max_pool2d(leaves[0], 2, 1), *leaves[1:], stride=2), 2, ties="split")
        y.backward(cotangent)
        results.append([y.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves])
    for ours, reference in zip(*results):
        _same_bits(ours, reference)


def test_random_ties_draw_the_same_keys_and_pick_a_tied_maximum(tier):
    x = np.zeros((1, 1, 4, 4))  # every entry of every window ties
    picks = set()
    for seed in range(6):
        t = rg.tensor(x, requires_grad=True)
        rg.manual_seed(seed)
        pool.max_pool2d(t, 2, ties="random").sum().backward()
        grad = t.grad.numpy()
        assert sorted(grad.ravel()) == [0] * 12 + [1] * 4  # exactly one entry per window
        picks.add(tuple(np.flatnonzero(grad)))
    assert len(picks) > 1  # and not always the same one


def _conv_run(x, w, b, kwargs, seed):
    """conv2d's output and the gradients of x, w and b, with a random cotangent."""
    leaves = [rg.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = conv.conv2d(*leaves, **kwargs)
    y.backward(rg.tensor(np.random.default_rng(seed).standard_normal(y.shape).astype(x.dtype)))
    return [y.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves]


# (x shape, weight shape, conv2d arguments): LeNet's second layer at batch 2, batch 1 with odd sizes, stride and
# padding, dilation and groups, stride = kernel (disjoint windows, which col2im assigns), a 1x1 kernel
CONV_CASES = [
    ((2, 6, 12, 12), (16, 6, 5, 5), dict()),
    ((1, 3, 9, 7), (4, 3, 3, 3), dict(stride=2, padding=1)),
    ((2, 4, 11, 10), (6, 2, 3, 2), dict(stride=(1, 2), padding=(2, 1), dilation=(2, 1), groups=2)),
    ((3, 2, 8, 6), (5, 2, 2, 2), dict(stride=2)),
    ((2, 3, 5, 5), (4, 3, 1, 1), dict()),
]


CONV_RUNS = ([("general", case, dtype) for case in CONV_CASES for dtype in DTYPES]  # each specialised geometry
             + [("specialised", CONV_CASES[0], np.float32)]  # costs compilations: LeNet's, every size unequal,
             + [("specialised", CONV_CASES[i], np.float64) for i in (2, 3)])  # and disjoint windows


@pytest.mark.parametrize("tier_name,case,dtype", CONV_RUNS)
def test_conv_kernels_match_numpy(monkeypatch, tier_name, case, dtype):
    x_shape, w_shape, kwargs = case
    _set_tier(monkeypatch, tier_name)
    rng = np.random.default_rng(sum(x_shape))
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, w_shape[:1]))
    previous = kernels.set_enabled(True)
    try:
        with_kernels = _conv_run(x, w, b, kwargs, seed=1)
        assert {"im2col", "col2im", "bias_add"} <= set(kernels.used())
        assert bool(kernels._specialised) == (tier_name == "specialised")
        kernels.set_enabled(False)
        y, grad_x, grad_w, grad_b = _conv_run(x, w, b, kwargs, seed=1)
    finally:
        kernels.set_enabled(previous)
    for ours, reference in zip(with_kernels[:1] + with_kernels[2:], (y, grad_w, grad_b)):
        _same_bits(ours, reference)  # the columns are the same numbers in the same layout: same GEMMs
    ours = with_kernels[1]
    if kwargs.get("stride", 1) != 1:  # the NumPy code's col2im too: the same adds in the same order
        _same_bits(ours, grad_x)
    else:  # NumPy: one GEMM per kernel offset, the kernels: one GEMM, so the rounding differs a little
        assert ours.dtype == grad_x.dtype
        np.testing.assert_array_less(np.abs(ours - grad_x), 4 * np.spacing(np.abs(grad_x).max()) + 1e-300)


def test_the_stride_one_input_gradient_is_numpy_general_path_bit_for_bit(tier):
    """For stride 1, the kernel path is _input_grad (one GEMM, then col2im) with a compiled col2im: the same bits
    as that NumPy path, whose col2im adds the same terms in the same order."""
    rng = np.random.default_rng(3)
    grad_out = rng.standard_normal((2, 16, 8, 8))
    w_groups = rng.standard_normal((1, 16, 150))
    ours = conv._input_grad(grad_out, w_groups, (2, 6, 12, 12), (5, 5), (1, 1), (1, 1))
    kernels.set_enabled(False)
    reference = conv._input_grad(grad_out, w_groups, (2, 6, 12, 12), (5, 5), (1, 1), (1, 1))
    _same_bits(ours, reference)


# (x shape, weight shape (C, O/groups, kh, kw), conv_transpose2d arguments): DCGAN's stride-2 up-sampling at batch 2,
# stride 1 with padding, groups, dilation and output_padding, disjoint windows (kernel = stride)
CONV_TRANSPOSE_CASES = [
    ((2, 8, 4, 4), (8, 4, 4, 4), dict(stride=2, padding=1)),
    ((1, 3, 5, 6), (3, 2, 3, 3), dict(padding=1)),
    ((2, 4, 5, 4), (4, 3, 3, 2), dict(stride=(2, 1), groups=2, dilation=(1, 2), output_padding=(1, 0))),
    ((2, 3, 3, 3), (3, 2, 2, 2), dict(stride=2)),
]


@pytest.mark.parametrize("case", CONV_TRANSPOSE_CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_transpose_forward_runs_conv_col2im_kernel_with_the_numpy_bits(tier, case, dtype):
    """conv_transpose2d's forward is conv2d's input gradient (one GEMM, then col2im), whose col2im is compiled with
    the kernels on: the NumPy bits where the NumPy code is that same path (stride other than 1), within a few ulp
    of its one-GEMM-per-offset path at stride 1; the backward runs the same NumPy code in both modes."""
    x_shape, w_shape, kwargs = case
    rng = np.random.default_rng(sum(x_shape))
    out_channels = w_shape[1] * kwargs.get("groups", 1)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, (out_channels,)))

    def run():
        leaves = [rg.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = conv_transpose.conv_transpose2d(*leaves, **kwargs)
        y.backward(rg.tensor(np.random.default_rng(1).standard_normal(y.shape).astype(dtype)))
        return [y.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves]

    with_kernels = run()
    assert "col2im" in kernels.used()
    kernels.set_enabled(False)
    reference = run()
    for ours, expected in zip(with_kernels[1:], reference[1:]):
        _same_bits(ours, expected)
    if kwargs.get("stride", 1) != 1:
        _same_bits(with_kernels[0], reference[0])
    else:
        assert with_kernels[0].dtype == reference[0].dtype
        np.testing.assert_array_less(np.abs(with_kernels[0] - reference[0]),
                                     4 * np.spacing(np.abs(reference[0]).max()) + 1e-300)


def test_the_bias_add_kernel_is_numpy_broadcast_add_bit_for_bit(tier):
    rng = np.random.default_rng(6)
    for dtype in DTYPES:
        y, bias = rng.standard_normal((3, 5, 7)).astype(dtype), rng.standard_normal(5).astype(dtype)
        ours = y.copy()
        conv._add_bias(ours, bias[::-1].copy()[::-1])  # a strided bias too
        _same_bits(ours, y + bias.reshape(5, 1))
    mixed = rng.standard_normal((2, 3, 4)).astype(np.float32)
    reference = mixed.copy()
    reference += np.arange(3.0).reshape(3, 1)  # a float64 bias on float32 y: NumPy's casting rules, not the kernel
    conv._add_bias(mixed, np.arange(3.0))
    _same_bits(mixed, reference)


def test_compiled_for_specialises_a_geometry_once_its_calls_visited_enough_entries(monkeypatch):
    monkeypatch.setattr(kernels, "SPECIALISE_AFTER", 100)
    monkeypatch.setattr(kernels, "_specialised", {})
    monkeypatch.setattr(kernels, "_geometry_work", {})
    previous = kernels.set_enabled(True)
    try:
        geometry = (2, 2, 2, 2, 1, 1)
        first, second = (kernels.compiled_for(window_kernels.max_pool_first, np.float32, geometry, 40) for _ in "ab")
        assert not kernels._specialised  # 80 entries visited: still the general kernel
        third = kernels.compiled_for(window_kernels.max_pool_first, np.float32, geometry, 40)
        assert kernels.compiled_for(window_kernels.max_pool_first, np.float32, geometry, 1) is third
        assert list(kernels._specialised) == [("max_pool_first", *geometry)]
        assert kernels._specialised[("max_pool_first", *geometry)] is third and first is not third
        x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
        results = []
        for kernel in (second, third):  # the general kernel and the specialised one: the same results
            y, offset = np.empty((1, 1, 2, 2), np.float32), np.empty((1, 1, 2, 2), np.int8)
            kernel(x, y, offset)
            results.append((y, offset))
        np.testing.assert_array_equal(results[0][0], [[[[5, 7], [13, 15]]]])
        np.testing.assert_array_equal(results[0][1], [[[[3, 3], [3, 3]]]])
        for a, b in zip(*results):
            _same_bits(a, b)
        assert kernels.compiled_for(window_kernels.max_pool_first, np.float16, geometry, 1) is None  # no float16
        kernels.set_enabled(False)
        assert kernels.compiled_for(window_kernels.max_pool_first, np.float32, geometry, 1) is None
    finally:
        kernels.set_enabled(previous)


def test_a_lenet_step_specialises_its_kernels_in_its_first_step(monkeypatch):
    """The default threshold: LeNet's layers at batch 64 visit enough window entries in one training step."""
    monkeypatch.setattr(kernels, "_specialised", {})
    monkeypatch.setattr(kernels, "_geometry_work", {})
    previous = kernels.set_enabled(True)
    try:
        model = rg.nn.Sequential(rg.nn.Conv2d(1, 6, 5), rg.nn.ReLU(), rg.nn.MaxPool2d(2), rg.nn.Conv2d(6, 16, 5),
                                 rg.nn.ReLU(), rg.nn.MaxPool2d(2))
        model(rg.randn(64, 1, 28, 28)).sum().backward()
    finally:
        kernels.set_enabled(previous)
    assert sorted(key[0] for key in kernels._specialised) == ["col2im", "im2col", "max_pool_backward",
                                                              "max_pool_first"]


def test_float16_pools_and_convolves_through_numpy_with_kernels_on(tier):
    x = rg.tensor(np.random.default_rng(4).standard_normal((2, 3, 8, 8)), dtype=rg.float16)
    w = rg.tensor(np.random.default_rng(5).standard_normal((4, 3, 3, 3)), dtype=rg.float16)
    ours = pool.max_pool2d(conv.conv2d(x, w), 2).numpy()
    kernels.set_enabled(False)
    np.testing.assert_array_equal(ours, pool.max_pool2d(conv.conv2d(x, w), 2).numpy())
