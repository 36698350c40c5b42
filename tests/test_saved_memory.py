"""Backward keeps only what it needs: each VJP closure captures exactly the arrays its op's docstring
"Saves" line names, never a Tensor, and an intermediate the formula does not read is freed as soon as
the forward pass returns.

`captured_arrays` reads a closure's cells (recursing into captured functions, tuples, lists, dicts and caches);
`OPS` is one table of small op calls, one family per block, so that conv/pool/recurrent rows can be
added by whoever owns those files."""
import gc
import weakref

import numpy as np
import pytest

import retrograd as rg
from retrograd.bench.graph_memory import captured, distinct_bytes, graph_arrays
from helpers import saves_names
from retrograd.ops import (
    activation, attention, conv_transpose, elementwise, indexing, kernels, linalg, loss, norm, pool, reduce, resample,
    shape, sort,
)


# ----- reading a closure --------------------------------------------------------------------------------
def captured_arrays(fn):
    """({variable name: [arrays]}, [names of captured Tensors]) of everything `fn`'s closure keeps."""
    return captured(fn)


# ----- the table: (row id, function building the output from fresh inputs) --------------------------------
def _t(*shape, grad=True, low=-1.0, high=1.0, seed=0):
    data = np.random.default_rng(seed + len(shape)).uniform(low, high, shape)
    return rg.tensor(data, requires_grad=grad)


def _pos(*shape, grad=True):
    return _t(*shape, grad=grad, low=0.5, high=2.0)


def _one_process(*arrays):
    """sync_batch_norm's sum across processes, with one process."""
    return list(arrays)


def _in_mode(mode, build):
    """build() with the compiled kernels on ("numba") or off ("numpy"), whatever RETROGRAD_KERNELS says: an op
    whose two paths keep different arrays has a row for each, so that both modes check both Saves lists."""
    previous = kernels.set_enabled(mode == "numba")
    try:
        return build()
    finally:
        kernels.set_enabled(previous)


def _labels():
    return rg.tensor(np.array([0, 2, 1, 2]))


OPS = [
    # elementwise
    ("add", lambda: elementwise.add(_t(3, 4), _t(4))),
    ("add-alpha", lambda: elementwise.add(_t(3, 4), _t(3, 4), alpha=2.0)),
    ("sub", lambda: elementwise.sub(_t(3, 4), _t(4, grad=False))),
    ("mul", lambda: elementwise.mul(_t(3, 4), _t(4))),
    ("mul-constant-tensor", lambda: elementwise.mul(_t(3, 4), _t(3, 4, grad=False))),
    ("mul-number", lambda: elementwise.mul(_t(3, 4), 2.0)),
    ("div", lambda: elementwise.div(_t(3, 4), _pos(4))),
    ("div-constant-divisor", lambda: elementwise.div(_t(3, 4), _pos(4, grad=False))),
    ("div-trunc", lambda: elementwise.div(_t(3, 4), _pos(4), rounding_mode="trunc")),
    ("neg", lambda: elementwise.neg(_t(3))),
    ("pow-number", lambda: elementwise.pow(_pos(3), 3.0)),
    ("pow-tensors", lambda: elementwise.pow(_pos(3), _t(3))),
    ("pow-tensor-exponent", lambda: elementwise.pow(2.0, _t(3))),
    ("square", lambda: elementwise.square(_t(3))),
    ("abs", lambda: elementwise.abs(_t(3))),
    ("sign", lambda: elementwise.sign(_t(3))),
    ("sqrt", lambda: elementwise.sqrt(_pos(3))),
    ("rsqrt", lambda: elementwise.rsqrt(_pos(3))),
    ("reciprocal", lambda: elementwise.reciprocal(_pos(3))),
    ("exp", lambda: elementwise.exp(_t(3))),
    ("expm1", lambda: elementwise.expm1(_t(3))),
    ("log", lambda: elementwise.log(_pos(3))),
    ("log2", lambda: elementwise.log2(_pos(3))),
    ("log1p", lambda: elementwise.log1p(_pos(3))),
    ("sin", lambda: elementwise.sin(_t(3))),
    ("cos", lambda: elementwise.cos(_t(3))),
    ("maximum", lambda: elementwise.maximum(_t(3, 4), _t(4))),
    ("minimum", lambda: elementwise.minimum(_t(3, 4), _t(4, grad=False))),
    ("where", lambda: elementwise.where(_t(3, 4, grad=False) > 0, _t(3, 4), _t(4))),
    ("floor", lambda: elementwise.floor(_t(3))),
    ("round", lambda: elementwise.round(_t(3))),
    # reductions
    ("sum", lambda: reduce.sum(_t(3, 4), dim=1)),
    ("mean", lambda: reduce.mean(_t(3, 4), dim=0)),
    ("prod", lambda: reduce.prod(_t(3, 4), dim=1)),
    ("prod-all", lambda: reduce.prod(_t(3, 4))),
    ("cumsum", lambda: reduce.cumsum(_t(3, 4), 1)),
    ("var", lambda: reduce.var(_t(3, 4), dim=1)),
    ("std", lambda: reduce.std(_t(3, 4), dim=1)),
    ("max-all", lambda: reduce.max(_t(3, 4))),
    ("max-dim", lambda: reduce.max(_t(3, 4), dim=1).values),
    ("min-dim-0d", lambda: reduce.min(_t(), dim=0).values),
    ("min-dim", lambda: reduce.min(_t(3, 4), dim=1).values),
    ("min-all", lambda: reduce.min(_t(3, 4))),
    ("amax", lambda: reduce.amax(_t(3, 4), dim=1)),
    ("amin", lambda: reduce.amin(_t(3, 4))),
    ("logsumexp", lambda: reduce.logsumexp(_t(3, 4), 1)),
    ("norm-2", lambda: reduce.norm(_t(3, 4), dim=1)),
    ("norm-1", lambda: reduce.norm(_t(3, 4), p=1)),
    ("norm-inf", lambda: reduce.norm(_t(3, 4), p=float("inf"))),
    ("norm-0", lambda: reduce.norm(_t(3, 4), p=0)),
    ("norm-3", lambda: reduce.norm(_t(3, 4), p=3)),
    ("norm-half", lambda: reduce.norm(_t(3, 4), p=0.5)),
    ("norm-nuc", lambda: reduce.norm(_t(3, 4), p="nuc")),
    # sorting
    ("sort", lambda: sort.sort(_t(3, 4), 1, descending=True).values),
    ("topk", lambda: sort.topk(_t(3, 4), 2, 0).values),
    ("kthvalue", lambda: sort.kthvalue(_t(3, 4), 2).values),
    # shape
    ("reshape", lambda: shape.reshape(_t(3, 4), 4, 3)),
    ("flatten", lambda: shape.flatten(_t(2, 3, 4), 1)),
    ("squeeze", lambda: shape.squeeze(_t(3, 1))),
    ("unsqueeze", lambda: shape.unsqueeze(_t(3), 0)),
    ("transpose", lambda: shape.transpose(_t(3, 4), 0, 1)),
    ("transpose-same", lambda: shape.transpose(_t(3, 4), 1, 1)),
    ("permute", lambda: shape.permute(_t(2, 3, 4), 2, 0, 1)),
    ("movedim", lambda: shape.movedim(_t(2, 3, 4), 0, 2)),
    ("expand", lambda: shape.expand(_t(3, 1), 3, 4)),
    ("repeat", lambda: shape.repeat(_t(3, 4), 2, 1)),
    ("cat", lambda: shape.cat([_t(3, 4), _t(2, 4, grad=False)])),
    ("stack", lambda: shape.stack([_t(3, 4), _t(3, 4)], 1)),
    ("split", lambda: shape.split(_t(5, 4), 2)[0]),
    ("chunk", lambda: shape.chunk(_t(5, 4), 2, 1)[1]),
    ("unbind", lambda: shape.unbind(_t(3, 4), 1)[0]),
    ("narrow", lambda: shape.narrow(_t(5, 4), 0, 1, 2)),
    ("flip", lambda: shape.flip(_t(3, 4), (0,))),
    ("roll", lambda: shape.roll(_t(3, 4), 1, 0)),
    ("tril", lambda: shape.tril(_t(3, 4))),
    ("triu", lambda: shape.triu(_t(3, 4))),
    ("pad-constant", lambda: shape.pad(_t(3, 4), (1, 2))),
    ("pad-crop", lambda: shape.pad(_t(3, 4), (-1, 2))),
    ("pad-reflect", lambda: shape.pad(_t(3, 4), (1, 2), mode="reflect")),
    ("cast", lambda: shape.cast(_t(3, 4), np.float32)),
    ("clone", lambda: shape.clone(_t(3, 4))),
    # indexing
    ("getitem-slice", lambda: indexing.getitem(_t(3, 4), (slice(1, 3), 0))),
    ("getitem-mask", lambda: indexing.getitem(_t(3, 4), np.array([True, False, True]))),
    ("getitem-array", lambda: indexing.getitem(_t(3, 4), ([0, 0, 2],))),
    ("index_put", lambda: indexing.index_put(_t(3, 4), ([0, 2],), _t(4))),
    ("gather", lambda: indexing.gather(_t(3, 4), 1, rg.tensor(np.array([[0, 1], [2, 2], [3, 0]])))),
    ("gather-empty-index", lambda: indexing.gather(_t(3, 4), 1, rg.zeros(3, 0, dtype=rg.int64))),
    ("scatter_add", lambda: indexing.scatter_add(_t(3, 4), 1, rg.tensor(np.array([[0, 1], [2, 2], [3, 0]])),
                                                 _t(3, 2))),
    ("index_select", lambda: indexing.index_select(_t(3, 4), 0, rg.tensor(np.array([2, 0, 2])))),
    ("masked_fill", lambda: indexing.masked_fill(_t(3, 4), rg.tensor(np.array([True, False, True, False])),
                                                 rg.tensor(1.5, requires_grad=True))),
    # linalg
    ("matmul", lambda: linalg.matmul(_t(2, 3, 4), _t(4, 5))),
    ("matmul-vectors", lambda: linalg.matmul(_t(4), _t(4, grad=False))),
    ("linear", lambda: linalg.linear(_t(5, 4), _t(3, 4), _t(3))),
    ("linear-first-layer", lambda: linalg.linear(_t(5, 4, grad=False), _t(3, 4), _t(3))),
    ("embedding", lambda: linalg.embedding(_labels(), _t(3, 4))),
    # activations
    ("sigmoid", lambda: activation.sigmoid(_t(3))),
    ("tanh", lambda: activation.tanh(_t(3))),
    ("silu", lambda: activation.silu(_t(3))),
    ("logsigmoid", lambda: activation.logsigmoid(_t(3))),
    ("softplus", lambda: activation.softplus(_t(3))),
    ("relu", lambda: activation.relu(_t(3))),
    ("leaky_relu", lambda: activation.leaky_relu(_t(3))),
    ("elu", lambda: activation.elu(_t(3))),
    ("hardtanh", lambda: activation.hardtanh(_t(3))),
    ("relu6", lambda: activation.relu6(_t(3))),
    ("gelu", lambda: activation.gelu(_t(3))),
    ("gelu-tanh", lambda: activation.gelu(_t(3), approximate="tanh")),
    ("clamp", lambda: activation.clamp(_t(3), -0.5, 0.5)),
    ("clamp-min", lambda: activation.clamp(_t(3), min=-0.5)),
    ("clamp-tensor", lambda: activation.clamp(_t(3), _t(3, grad=False) - 1, _t(3) + 1)),
    ("softmax", lambda: activation.softmax(_t(3, 4), 1)),
    ("softmin", lambda: activation.softmin(_t(3, 4), 1)),
    ("log_softmax", lambda: activation.log_softmax(_t(3, 4), 1)),
    # losses
    ("mse_loss", lambda: loss.mse_loss(_t(4, 3), _t(4, 3, grad=False))),
    ("l1_loss", lambda: loss.l1_loss(_t(4, 3), _t(4, 3))),
    ("smooth_l1_loss", lambda: loss.smooth_l1_loss(_t(4, 3), _t(4, 3, grad=False))),
    ("huber_loss", lambda: loss.huber_loss(_t(4, 3), _t(4, 3, grad=False), reduction="none")),
    ("binary_cross_entropy", lambda: loss.binary_cross_entropy(activation.sigmoid(_t(4)), _pos(4) / 2)),
    ("binary_cross_entropy-weight", lambda: loss.binary_cross_entropy(
        activation.sigmoid(_t(4)), _pos(4, grad=False) / 2, weight=_pos(4, grad=False))),
    ("bce_with_logits", lambda: loss.binary_cross_entropy_with_logits(_t(4), _pos(4, grad=False) / 2)),
    ("bce_with_logits-pos_weight", lambda: loss.binary_cross_entropy_with_logits(
        _t(4), _pos(4) / 2, weight=_pos(4, grad=False), pos_weight=_pos(4, grad=False))),
    ("cross_entropy", lambda: loss.cross_entropy(_t(4, 3), _labels())),
    ("cross_entropy-smoothing", lambda: loss.cross_entropy(_t(4, 3, 2), rg.tensor(np.zeros((4, 2), np.int64)),
                                                           label_smoothing=0.1, ignore_index=1)),
    ("cross_entropy-probabilities", lambda: loss.cross_entropy(_t(4, 3), activation.softmax(_t(4, 3), 1))),
    ("cross_entropy-weight-ignore", lambda: loss.cross_entropy(_t(4, 3), rg.tensor(np.array([0, -100, 1, 2])),
                                                               weight=_pos(3, grad=False))),
    ("nll_loss", lambda: loss.nll_loss(_t(4, 3), _labels(), weight=_pos(3, grad=False))),
    ("nll_loss-ignore", lambda: loss.nll_loss(_t(4, 3), rg.tensor(np.array([0, -100, 1, 2])))),
    ("kl_div", lambda: loss.kl_div(_t(4, 3), _pos(4, 3), reduction="batchmean")),
    ("kl_div-log_target", lambda: loss.kl_div(_t(4, 3), _t(4, 3), reduction="sum", log_target=True)),
    ("adaptive_avg_pool2d-general", lambda: pool.adaptive_avg_pool2d(_t(1, 2, 5, 4), (3, 3))),
    ("adaptive_max_pool2d-general", lambda: pool.adaptive_max_pool2d(_t(1, 2, 5, 4), (3, 3))),
    # normalisation
    ("batch_norm-training", lambda: norm.batch_norm(_t(4, 3, 2), rg.zeros(3), rg.ones(3), _t(3), _t(3),
                                                    training=True)),
    ("batch_norm-training-numpy", lambda: _in_mode("numpy", lambda: norm.batch_norm(
        _t(4, 3, 2), rg.zeros(3), rg.ones(3), _t(3), _t(3), training=True))),
    ("batch_norm-training-compiled", lambda: _in_mode("numba", lambda: norm.batch_norm(
        _t(4, 3, 2), rg.zeros(3), rg.ones(3), _t(3), _t(3), training=True))),
    ("batch_norm-empty", lambda: norm.batch_norm(_t(0), rg.zeros(0), rg.ones(0), training=True)),
    ("batch_norm-eval", lambda: norm.batch_norm(_t(4, 3), rg.zeros(3), rg.ones(3), _t(3), None)),
    ("sync_batch_norm", lambda: norm.sync_batch_norm(_t(4, 3, 2), rg.zeros(3), rg.ones(3), _t(3), _t(3), 0.1, 1e-5,
                                                     _one_process)),
    ("layer_norm", lambda: norm.layer_norm(_t(4, 3), (3,), _t(3), _t(3))),
    ("layer_norm-no-affine", lambda: norm.layer_norm(_t(4, 3), (3,))),
    ("layer_norm-numpy", lambda: _in_mode("numpy", lambda: norm.layer_norm(_t(4, 3), (3,), _t(3), _t(3)))),
    ("layer_norm-compiled", lambda: _in_mode("numba", lambda: norm.layer_norm(_t(4, 3), (3,), _t(3), _t(3)))),
    # transposed convolution and resampling
    ("conv_transpose2d", lambda: conv_transpose.conv_transpose2d(_t(2, 3, 3, 3), _t(3, 2, 2, 2), _t(2), stride=2)),
    ("conv_transpose2d-first-layer", lambda: conv_transpose.conv_transpose2d(_t(2, 3, 3, 3, grad=False),
                                                                             _t(3, 2, 2, 2))),
    ("interpolate-bilinear", lambda: resample.interpolate(_t(1, 2, 3, 3), scale_factor=2, mode="bilinear")),
    ("interpolate-nearest-1d", lambda: resample.interpolate(_t(1, 2, 3), size=5)),
    ("interpolate-trilinear", lambda: resample.interpolate(_t(1, 2, 3, 3, 3), size=4, mode="trilinear")),
    # attention
    ("sdpa", lambda: attention.scaled_dot_product_attention(_t(2, 3, 4), _t(2, 5, 4), _t(2, 5, 2))),
    ("sdpa-float-mask-dropout", lambda: attention.scaled_dot_product_attention(
        _t(2, 3, 4), _t(2, 5, 4), _t(2, 5, 2), attn_mask=_t(3, 5), dropout_p=0.5)),
    ("sdpa-constant-query", lambda: attention.scaled_dot_product_attention(
        _t(2, 3, 4, grad=False), _t(2, 5, 4), _t(2, 5, 2, grad=False), is_causal=True)),
]

OP_FUNCTIONS = {}  # op function -> the row ids that call it (filled by test_every_row_records_a_node)


def _node(row_id, build):
    out = build()
    node = out.grad_fn
    assert node is not None, f"{row_id}: the op recorded no node"
    return node


@pytest.mark.parametrize("row_id,build", OPS, ids=[row[0] for row in OPS])
def test_closure_captures_what_the_docstring_saves(row_id, build):
    node = _node(row_id, build)
    arrays, tensors = captured_arrays(node.backward_fn)
    assert not tensors, f"{row_id}: the VJP closure captures Tensor(s) {tensors}: decide before building it"
    listed, line = saves_names(node.op)
    unlisted = set(arrays) - listed
    assert not unlisted, (f"{row_id}: {node.op.__name__}'s VJP captures arrays {sorted(unlisted)} that its "
                          f"docstring's line {line!r} does not name")


def test_every_saved_name_is_captured_by_some_row():
    """The converse: a name in a 'Saves' line is an array some call of the op really keeps (no stale names)."""
    captured_by_op, ops = {}, {}
    for row_id, build in OPS:
        node = _node(row_id, build)
        ops[node.op.__name__] = node.op
        captured_by_op.setdefault(node.op.__name__, set()).update(captured_arrays(node.backward_fn)[0])
    stale = {name: sorted(saves_names(op)[0] - captured_by_op[name]) for name, op in ops.items()}
    assert not {name: names for name, names in stale.items() if names}


def test_inspector_sees_tensors_arrays_and_nested_functions():
    a, x = rg.ones(2), np.ones(3)

    def inner():
        return x

    def outer():
        return a, inner

    arrays, tensors = captured_arrays(outer)
    assert tensors == ["a"] and list(arrays) == ["x"] and arrays["x"][0] is x


# ----- weakrefs: what the formula does not read is freed before backward ----------------------------------
def _dead(ref):
    gc.collect()
    return ref() is None


def test_an_intermediate_is_freed_once_summed():
    """y = (x * 2).sum(): sum keeps no input, mul by a number keeps nothing, so x * 2's array is freed."""
    x = rg.randn(5, 4, requires_grad=True)
    doubled = x * 2
    ref = weakref.ref(doubled.array)
    y = doubled.sum()
    del doubled
    assert _dead(ref)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((5, 4), 2.0, np.float32))


def test_mul_by_a_constant_tensor_keeps_only_the_constant():
    x = rg.randn(5, 4, requires_grad=True)
    c = rg.randn(5, 4)
    y = elementwise.mul(x, c)
    arrays, _ = captured_arrays(y.grad_fn.backward_fn)
    assert [id(a) for group in arrays.values() for a in group] == [id(c.array)]  # not x's array
    x_ref = weakref.ref(x.array)
    x.array = np.zeros_like(x.array)  # drop the user's array: the graph must not hold it
    assert _dead(x_ref)


@pytest.mark.parametrize("family,build", [
    ("elementwise", lambda h: (h * 3.0).sum()),
    ("elementwise-exp", lambda h: elementwise.exp(h).sum()),     # saves its output, not h
    ("reduce", lambda h: reduce.mean(h, dim=1).sum()),
    ("shape", lambda h: shape.reshape(shape.transpose(h, 0, 1), -1).sum()),
    ("indexing", lambda h: indexing.getitem(h, (slice(0, 2),)).sum()),
    ("linalg", lambda h: linalg.linear(h, rg.ones(2, 4)).sum()),      # a constant W: saves W, not x
    ("activation", lambda h: activation.tanh(h).sum()),
    ("loss", lambda h: loss.cross_entropy(h, rg.tensor(np.array([0, 1, 3])))),
])
def test_each_family_frees_the_input_its_formula_does_not_read(family, build):
    """h = x + 1 is an intermediate; the op built on it does not read h itself (it saves its output, a
    shape, or a derived array), so h's array is freed before backward."""
    x = rg.randn(3, 4, requires_grad=True)
    h = x + 1.0
    ref = weakref.ref(h.array)
    y = build(h)
    del h
    assert _dead(ref), f"{family}: the graph keeps an array its backward does not need"
    y.backward()
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()


def test_norm_keeps_x_hat_and_rstd_not_x_minus_mean():
    """layer_norm's x is version-checked (PyTorch saves it too), so it stays; beyond it the graph holds x_hat
    and rstd only: not x - mean, not the variance, not the affine product. (The NumPy code; the compiled
    kernels keep less, next test.)"""
    x = rg.randn(8, 16, requires_grad=True)
    y = _in_mode("numpy", lambda: norm.layer_norm(x, (16,), rg.ones(16, requires_grad=True),
                                                  rg.zeros(16, requires_grad=True)))
    weight_bytes = 16 * 4
    assert distinct_bytes(graph_arrays(y)) == 2 * x.array.nbytes + 8 * 4 + weight_bytes  # x, x_hat, rstd, weight


def test_compiled_layer_norm_keeps_x_mean_and_rstd_as_pytorch():
    """With the compiled kernels layer_norm keeps what PyTorch keeps: x, and mean and rstd per row (the backward
    recomputes x_hat from them): one array of x's size, where the NumPy code keeps two."""
    x = rg.randn(8, 16, requires_grad=True)
    y = _in_mode("numba", lambda: norm.layer_norm(x, (16,), rg.ones(16, requires_grad=True),
                                                  rg.zeros(16, requires_grad=True)))
    weight_bytes = 16 * 4
    assert distinct_bytes(graph_arrays(y)) == x.array.nbytes + 2 * 8 * 4 + weight_bytes  # x, mean, rstd, weight


def test_mlp_layer_keeps_its_input_and_weight_only():
    """linear + relu + mean, all needing gradients: x, W and relu's output; the pre-activation is freed."""
    x, w = rg.randn(32, 64, requires_grad=True), rg.randn(16, 64, requires_grad=True)
    pre = linalg.linear(x, w)
    ref = weakref.ref(pre.array)
    y = reduce.mean(activation.relu(pre))
    del pre
    assert _dead(ref)
    assert distinct_bytes(graph_arrays(y)) == x.array.nbytes + w.array.nbytes + 32 * 16 * 4
