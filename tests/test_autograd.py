"""The tape and its user-facing controls: backward, autograd.grad, grad modes, Function, anomaly mode,
hooks, retain_grad, graph freeing. Gradients are compared with PyTorch."""
import gc
import sys
import weakref

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd.autograd import Function, gradcheck

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
W = rng.standard_normal((3, 4))
DOUT = rng.standard_normal((3, 4))


def pair(array, requires_grad=True):
    """The same float64 values as a retrograd and a torch leaf."""
    return (rg.tensor(array.copy(), requires_grad=requires_grad),
            torch.tensor(array.copy(), requires_grad=requires_grad))


def close(rg_value, torch_value, **kwargs):
    expected = torch_value.detach().numpy() if isinstance(torch_value, torch.Tensor) else torch_value
    np.testing.assert_allclose(rg_value.array if isinstance(rg_value, rg.Tensor) else rg_value, expected,
                               rtol=1e-10, atol=1e-12, **kwargs)


# ----- backward, accumulation, retain_graph -------------------------------------------
def test_gradients_accumulate_across_backward_calls():
    x, tx = pair(A)
    for lib, leaf in ((rg, x), (torch, tx)):
        (lib.tanh(leaf) * lib.tensor(DOUT)).sum().backward()
        (leaf * leaf * lib.tensor(DOUT)).sum().backward()
    close(x.grad, tx.grad)
    x.grad = None
    (x * 2).sum().backward()
    close(x.grad, np.full(A.shape, 2.0))


def test_retain_graph_allows_a_second_backward():
    x, tx = pair(A)
    for lib, leaf in ((rg, x), (torch, tx)):
        loss = (lib.exp(leaf) * lib.tensor(DOUT)).sum()
        loss.backward(retain_graph=True)
        loss.backward()
    close(x.grad, tx.grad)
    close(x.grad, 2 * np.exp(A) * DOUT)


def test_second_backward_without_retain_graph_says_retain_graph():
    x = rg.tensor(A, requires_grad=True)
    loss = (rg.exp(x) * 3).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        rg.autograd.grad(loss, x)


def test_grad_through_a_freed_graph_raises_instead_of_returning_none():
    u = rg.tensor([1.0, 2.0], requires_grad=True)
    unused = rg.tensor([3.0], requires_grad=True)
    doubled = u * 2
    with pytest.raises(RuntimeError, match="allow_unused"):
        rg.autograd.grad(doubled.sum(), [u, unused])  # runs (and frees) the graph of `doubled`, then complains
    with pytest.raises(RuntimeError, match="retain_graph"):
        rg.autograd.grad(doubled.sum(), [u, unused], allow_unused=True)


def test_a_20000_op_chain_backward_needs_no_recursion():
    x = rg.tensor(0.5, dtype=rg.float64, requires_grad=True)
    h = x
    for _ in range(10000):
        h = h * 1.0001
        h = h + 0.001
    limit = sys.getrecursionlimit()
    h.backward()
    assert sys.getrecursionlimit() == limit
    np.testing.assert_allclose(x.grad.array, 1.0001 ** 10000, rtol=1e-10)


def test_backward_of_a_non_scalar_without_gradient_says_what_to_pass():
    x = rg.tensor(A, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"scalar outputs.*shape \(3, 4\).*gradient="):
        y.backward()
    y.backward(rg.tensor(DOUT))
    close(x.grad, 2 * DOUT)
    with pytest.raises(RuntimeError, match=r"gradient has shape \(4,\) but the output has shape \(3, 4\)"):
        (x * 2).backward(rg.ones(4, dtype=rg.float64))


def test_backward_on_a_tensor_without_grad_fn_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (rg.tensor(A) * 2).sum().backward()


# ----- grad modes ---------------------------------------------------------------------
def test_no_grad_as_context_and_decorator():
    x = rg.tensor(A, requires_grad=True)
    with rg.no_grad():
        y = x * 2
        assert not rg.is_grad_enabled()
    assert rg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @rg.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert rg.is_grad_enabled() and (x * 2).requires_grad


def test_enable_grad_inside_no_grad():
    x = rg.tensor(A, requires_grad=True)
    with rg.no_grad():
        with rg.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad

    @rg.enable_grad()
    def recorded(t):
        return t * 2

    with rg.no_grad():
        assert recorded(x).requires_grad


def test_set_grad_enabled_as_function_and_context():
    x = rg.tensor(A, requires_grad=True)
    with rg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    rg.set_grad_enabled(False)
    try:
        assert not rg.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        rg.set_grad_enabled(True)
    assert (x * 2).requires_grad
    with rg.set_grad_enabled(True):
        assert (x * 2).requires_grad


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ValueError):
        with rg.no_grad():
            raise ValueError
    assert rg.is_grad_enabled()


# ----- autograd.grad ------------------------------------------------------------------
def test_autograd_grad_with_grad_outputs_does_not_accumulate():
    (x, tx), (w, tw) = pair(A), pair(W)
    out, tout = rg.tanh(x * w), torch.tanh(tx * tw)
    gx, gw = rg.autograd.grad(out, [x, w], grad_outputs=rg.tensor(DOUT))
    tgx, tgw = torch.autograd.grad(tout, [tx, tw], grad_outputs=torch.tensor(DOUT))
    close(gx, tgx)
    close(gw, tgw)
    assert x.grad is None and w.grad is None


def test_autograd_grad_allow_unused():
    (x, _), (w, _) = pair(A), pair(W)
    with pytest.raises(RuntimeError, match="input 1 .*not used.*allow_unused=True"):
        rg.autograd.grad((x * 3).sum(), [x, w])
    gx, gw = rg.autograd.grad((x * 3).sum(), [x, w], allow_unused=True)
    close(gx, np.full(A.shape, 3.0))
    assert gw is None
    gx, gw = rg.autograd.grad((x * 3).sum(), [x, w], materialize_grads=True)
    close(gw, np.zeros(W.shape))


def test_autograd_grad_with_respect_to_non_leaves():
    x, tx = pair(A)
    results = []
    for lib, leaf in ((rg, x), (torch, tx)):
        hidden = lib.exp(leaf)
        out = (lib.sin(hidden) * hidden * lib.tensor(DOUT)).sum()
        results.append(lib.autograd.grad(out, [hidden, leaf]))
    for r, t in zip(*results):
        close(r, t)


def test_autograd_grad_of_multiple_outputs_sums_them():
    x, tx = pair(A)
    results = []
    for lib, leaf in ((rg, x), (torch, tx)):
        outputs = [(lib.exp(leaf) * lib.tensor(DOUT)).sum(), leaf * 2]
        results.append(lib.autograd.grad(outputs, leaf, grad_outputs=[None, lib.tensor(W)]))
    close(results[0][0], results[1][0])


def test_autograd_grad_rejects_inputs_that_do_not_require_grad():
    x = rg.tensor(A, requires_grad=True)
    with pytest.raises(RuntimeError, match="input 0 does not require grad"):
        rg.autograd.grad((x * 2).sum(), rg.tensor(A))


# ----- Function -----------------------------------------------------------------------
def make_scaled_exp(base):
    """The same custom op for retrograd and torch: outputs (e^x * scale * w, e^x * scale + w)."""

    class ScaledExp(base):
        needs = []

        @staticmethod
        def forward(ctx, x, scale, w):
            y = x.exp() * scale
            ctx.save_for_backward(y, w)
            ScaledExp.needs.append(tuple(ctx.needs_input_grad))
            return y * w, y + w

        @staticmethod
        def backward(ctx, grad_product, grad_sum):
            y, w = ctx.saved_tensors
            grad_x = (grad_product * w + grad_sum) * y if ctx.needs_input_grad[0] else None
            grad_w = grad_product * y + grad_sum if ctx.needs_input_grad[2] else None
            return grad_x, None, grad_w

    return ScaledExp


@pytest.mark.parametrize("w_requires_grad", [True, False])
def test_function_with_saved_tensors_non_tensor_argument_and_two_outputs_matches_torch(w_requires_grad):
    RgExp, TorchExp = make_scaled_exp(Function), make_scaled_exp(torch.autograd.Function)
    (x, tx), (w, tw) = pair(A), pair(W, w_requires_grad)
    p, q = RgExp.apply(x, 2.5, w)
    tp, tq = TorchExp.apply(tx, 2.5, tw)
    assert RgExp.needs == TorchExp.needs == [(True, False, w_requires_grad)]
    assert p.grad_fn is q.grad_fn and p.grad_fn.name() == "ScaledExpBackward"
    close(p, tp)
    close(q, tq)
    (p * rg.tensor(DOUT) + q * rg.tensor(W)).sum().backward()
    (tp * torch.tensor(DOUT) + tq * torch.tensor(W)).sum().backward()
    close(x.grad, tx.grad)
    if w_requires_grad:
        close(w.grad, tw.grad)
    else:
        assert w.grad is None


def test_function_gets_zeros_for_an_unused_output():
    RgExp, TorchExp = make_scaled_exp(Function), make_scaled_exp(torch.autograd.Function)
    (x, tx), (w, tw) = pair(A), pair(W)
    (RgExp.apply(x, 1.0, w)[1] * rg.tensor(DOUT)).sum().backward()
    (TorchExp.apply(tx, 1.0, tw)[1] * torch.tensor(DOUT)).sum().backward()
    close(x.grad, tx.grad)
    close(w.grad, tw.grad)


def make_row_max(base, lib, materialize):
    """The same custom op for retrograd and torch: (max of each row, its index), the index marked
    non-differentiable; backward records what it receives for each output (None, or the values)."""

    class RowMax(base):
        received = []

        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(materialize)
            index = lib.argmax(x, dim=1)
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(index)
            ctx.columns = x.shape[1]
            return lib.amax(x, dim=1), index

        @staticmethod
        def backward(ctx, grad_values, grad_index):
            RowMax.received.append([None if g is None else g.numpy().tolist() for g in (grad_values, grad_index)])
            (index,) = ctx.saved_tensors
            if grad_values is None:
                return None
            one_hot = (lib.arange(ctx.columns).unsqueeze(0) == index.unsqueeze(1)).to(grad_values.dtype)
            return one_hot * grad_values.unsqueeze(1)

    return RowMax


@pytest.mark.parametrize("materialize", [True, False])
def test_function_marks_an_output_non_differentiable_as_torch(materialize):
    RgMax, TorchMax = make_row_max(Function, rg, materialize), make_row_max(torch.autograd.Function, torch, materialize)
    (x, tx) = pair(A)
    (values, index), (t_values, t_index) = RgMax.apply(x), TorchMax.apply(tx)
    assert (values.requires_grad, index.requires_grad, index.grad_fn) == (True, False, None)
    assert (t_values.requires_grad, t_index.requires_grad, t_index.grad_fn) == (True, False, None)
    np.testing.assert_array_equal(index.numpy(), t_index.numpy())
    (values * rg.tensor(DOUT[:, 0])).sum().backward()
    (t_values * torch.tensor(DOUT[:, 0])).sum().backward()
    close(x.grad, tx.grad)
    # the index never gets a gradient: zeros in its own dtype, or None without materialized grads
    assert RgMax.received == TorchMax.received == [[DOUT[:, 0].tolist(), [0, 0, 0] if materialize else None]]


@pytest.mark.parametrize("materialize", [True, False])
def test_function_without_materialized_grads_gets_none_for_an_unused_output_as_torch(materialize):
    def make(base):
        class Twice(base):
            received = []

            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(materialize)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, grad_double, grad_triple):
                Twice.received.append((grad_double is None, grad_triple is None))
                total = 0
                if grad_double is not None:
                    total = total + 2 * grad_double
                if grad_triple is not None:
                    total = total + 3 * grad_triple
                return total

        return Twice

    RgTwice, TorchTwice = make(Function), make(torch.autograd.Function)
    (x, tx) = pair(A)
    double, triple = RgTwice.apply(x)
    t_double, t_triple = TorchTwice.apply(tx)
    (double * rg.tensor(DOUT)).sum().backward(retain_graph=True)
    (t_double * torch.tensor(DOUT)).sum().backward(retain_graph=True)
    close(x.grad, tx.grad)
    (double + triple).sum().backward()  # a second pass through the same node: both outputs get a gradient
    (t_double + t_triple).sum().backward()
    close(x.grad, tx.grad)
    assert RgTwice.received == TorchTwice.received == [(False, not materialize), (False, False)]


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        y, = ctx.saved_tensors
        return grad_output * y


class ExpWrongBackward(Exp):
    @staticmethod
    def backward(ctx, grad_output):
        y, = ctx.saved_tensors
        return grad_output * y * y


def test_a_wrong_function_backward_fails_gradcheck_and_the_right_one_passes():
    x = rg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert gradcheck(Exp.apply, (x,))
    assert not gradcheck(ExpWrongBackward.apply, (x,), raise_exception=False)


def test_function_saved_tensors_are_freed_after_backward():
    x = rg.tensor(A, requires_grad=True)
    y = Exp.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.sum().backward()


def test_function_backward_with_a_wrong_gradient_shape_is_reported():
    class BadShape(Exp):
        @staticmethod
        def backward(ctx, grad_output):
            return grad_output.sum(0)

    with pytest.raises(RuntimeError, match=r"BadShape.backward returned a gradient of shape \(4,\) for input 0"):
        BadShape.apply(rg.tensor(A, requires_grad=True)).sum().backward()


# ----- anomaly mode -------------------------------------------------------------------
def test_detect_anomaly_names_the_forward_op_and_the_line():
    x = rg.tensor([-1.0, 2.0], requires_grad=True)
    with rg.autograd.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(RuntimeError) as info:
            line = sys._getframe().f_lineno + 1
            rg.log(x)
    message = str(info.value)
    assert "'log'" in message and "nan" in message
    assert f"{__file__}:{line}" in message


def test_detect_anomaly_names_the_backward_that_produced_inf():
    x = rg.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        rg.sqrt(x).sum().backward()  # outside anomaly mode an inf gradient passes silently, as in PyTorch
        assert np.isinf(x.grad.array[0])
        with rg.autograd.detect_anomaly():
            y = rg.sqrt(x)
            line = sys._getframe().f_lineno - 1
            with pytest.raises(RuntimeError) as info:
                y.sum().backward()
    message = str(info.value)
    assert "SqrtBackward" in message and "inf" in message
    assert f"{__file__}:{line}" in message


def test_detect_anomaly_is_off_again_afterwards():
    with rg.autograd.detect_anomaly():
        pass
    with np.errstate(invalid="ignore"):
        assert np.isnan(rg.log(rg.tensor([-1.0], requires_grad=True)).array).all()


# ----- hooks and retain_grad ----------------------------------------------------------
def run_hooks(lib):
    x = lib.tensor(A.copy(), requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.detach().numpy().copy() if lib is torch else g.array.copy()))
    x.register_hook(lambda g: g + 1)  # runs after the first: the recorded grad is the unmodified one
    y = x * x
    y.register_hook(lambda g: g * 10)
    y.retain_grad()
    z = lib.sin(y)
    z.retain_grad()
    (z * lib.tensor(DOUT)).sum().backward()
    return x.grad, y.grad, z.grad, seen[0]


def test_hooks_on_leaves_and_non_leaves_modify_gradients_like_torch():
    for r, t in zip(run_hooks(rg), run_hooks(torch)):
        close(r, t)


def test_removed_hook_no_longer_runs():
    x = rg.tensor(A, requires_grad=True)
    handle = x.register_hook(lambda g: g * 0)
    handle.remove()
    (x * 2).sum().backward()
    close(x.grad, np.full(A.shape, 2.0))
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        rg.tensor(A).register_hook(lambda g: g)


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
def test_retain_grad_keeps_non_leaf_gradients():
    x, tx = pair(A)
    results = []
    for lib, leaf in ((rg, x), (torch, tx)):
        hidden = leaf * 3
        kept = lib.tanh(hidden)
        kept.retain_grad()
        (kept * kept * lib.tensor(DOUT)).sum().backward()
        assert kept.retains_grad and not hidden.retains_grad
        results.append((kept.grad, hidden.grad))
    close(results[0][0], results[1][0])
    assert results[0][1] is None and results[1][1] is None


# ----- graph shapes and memory --------------------------------------------------------
def test_diamond_graph_sums_both_paths_like_torch():
    (x, tx), (w, tw) = pair(A), pair(W)
    for lib, a, b in ((rg, x, w), (torch, tx, tw)):
        shared = lib.exp(a)
        out = shared * a + lib.sin(shared) * b + shared  # shared used three times, a twice
        (out * lib.tensor(DOUT)).sum().backward()
    close(x.grad, tx.grad)
    close(w.grad, tw.grad)


def test_backward_releases_the_saved_arrays():
    x = rg.tensor(rng.standard_normal(1000), requires_grad=True)
    hidden = rg.exp(x)
    node = hidden.grad_fn
    saved = weakref.ref(hidden.array)  # saved by exp's VJP (its output) and by mul's (an input)
    loss = (hidden * 2).sum()
    del hidden
    loss.backward(retain_graph=True)
    gc.collect()
    assert saved() is not None and node.backward_fn is not None  # retained
    loss.backward()
    gc.collect()
    assert node.backward_fn is None and loss.grad_fn.backward_fn is None
    assert saved() is None


def test_detect_anomaly_checks_ops_whose_inputs_need_no_grad():
    with rg.autograd.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(RuntimeError, match="op 'log' returned nan"):
            rg.log(rg.tensor([-1.0]))  # grad mode on, nothing requires grad


def test_a_vjp_returning_the_wrong_shape_raises_naming_the_op():
    """Before, AccumulateGrad broadcast a (1, 3) gradient into a (2, 3) leaf's .grad without a word."""
    from retrograd.ops.base import record

    def squash(x):
        def squash_backward(grad_out):
            return (grad_out[:1],)  # wrong: one row for a two-row input
        return record(squash, x.array * 2, (x,), squash_backward)

    x = rg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Function SquashBackward returned an invalid gradient at index 0 - "
                                           r"got \[1, 3\] but expected shape compatible with \[2, 3\]"):
        squash(x).sum().backward()
    assert x.grad is None


def test_a_vjp_returning_too_few_gradients_raises_naming_the_op():
    """PyTorch's check and wording; before, the engine indexed past the VJP's tuple (a bare IndexError)."""
    from retrograd.ops.base import record

    def pair_sum(a, b):
        return record(pair_sum, a.array + b.array, (a, b), lambda grad_out: (grad_out,))  # wrong: one for two

    a, b = rg.ones(3, requires_grad=True), rg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"function PairSumBackward returned an incorrect number of gradients "
                                           r"\(expected 2, got 1\)"):
        pair_sum(a, b).sum().backward()
    assert a.grad is None and b.grad is None


def test_the_root_error_names_the_output_that_has_no_graph():
    a = rg.ones(2, requires_grad=True) * 2
    b = rg.ones(2)
    with pytest.raises(RuntimeError, match="element 1 of tensors does not require grad"):
        rg.autograd.backward([a.sum(), b.sum()])


@pytest.mark.parametrize("on_leaf", [True, False])
def test_a_hook_that_changes_the_gradients_shape_raises_as_in_torch(on_leaf):
    """Before, a leaf's .grad broadcast a (1,)-shaped hook result to (3,) without a word."""
    for lib in (rg, torch):
        x = lib.ones(3, requires_grad=True)
        hooked = x if on_leaf else x * 2
        hooked.register_hook(lambda grad: grad[:1])
        with pytest.raises(RuntimeError, match="has changed the size of value"):
            (hooked * 3).sum().backward()
        assert x.grad is None


def test_anomaly_names_the_users_line_with_windows_paths_too(monkeypatch):
    """user_frame_summary skips the library's frames by folder, compared case-insensitively on Windows."""
    import ntpath
    import types

    from retrograd.autograd import anomaly

    monkeypatch.setattr(anomaly, "os", types.SimpleNamespace(path=ntpath, sep="\\"))
    monkeypatch.setattr(anomaly, "_PACKAGE_DIR", ntpath.normcase(r"C:\Python\Lib\site-packages\retrograd") + "\\")
    library = compile("def op():\n    return summary()\n", r"C:\Python\Lib\Site-Packages\RETROGRAD\ops\fake.py", "exec")
    user = compile("def train():\n    return op()\n", r"C:\Users\me\train.py", "exec")
    scope = {"summary": anomaly.user_frame_summary}
    exec(library, scope)
    exec(user, scope)
    assert scope["train"]() == r"C:\Users\me\train.py:2 in train"


def test_retain_grad_on_a_tensor_without_requires_grad_raises_as_pytorch_does():
    for library in (rg, torch):
        with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
            library.ones(2).retain_grad()


def test_post_accumulate_grad_hook_runs_after_accumulation_as_in_pytorch():
    """DistributedDataParallel starts its buckets from this hook."""
    seen = {}
    for lib, name in ((rg, "ours"), (torch, "theirs")):
        w = lib.ones(2, requires_grad=True)
        calls = seen[name] = []
        w.register_post_accumulate_grad_hook(lambda p: calls.append(p.grad.tolist()))
        (w * 3).sum().backward()
        lib.autograd.grad((w * 3).sum(), w)  # accumulates nothing: no call
        (w * 3).sum().backward(inputs=[w])
        with pytest.raises(RuntimeError, match="non-leaf tensors"):
            (w * 2).register_post_accumulate_grad_hook(lambda p: None)
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.ones(2).register_post_accumulate_grad_hook(lambda p: None)
    assert seen["ours"] == seen["theirs"] == [[3.0, 3.0], [6.0, 6.0]]
