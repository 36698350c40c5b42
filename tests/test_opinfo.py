"""PyTorch's own OpInfo sample inputs, run through retrograd and PyTorch side by side.

`torch.testing._internal.common_methods_invocations.op_db` is the table PyTorch tests its own ops with:
for every op, sample inputs that cover broadcasting, empty and 0-d tensors, keyword arguments and the
odd corners (ceil_mode, negative dims, empty index). For every op retrograd implements, each sample
runs in float64 with requires_grad=True, forward and backward (a random cotangent per float output,
never `.sum()`'s all-ones), and retrograd must give PyTorch's values, shapes, dtypes and gradients
(a gradient PyTorch gives as zeros must not be missing).

Which ops: an OpInfo's name is looked up in retrograd under the same path (`nn.functional.conv2d` ->
`retrograd.nn.functional.conv2d`); an OpInfo that PyTorch calls as a Tensor method or property
(`view`, `expand`, `T`, `__radd__`) is looked up on `retrograd.Tensor`. An op retrograd lacks is not
collected (the mapping skips it, nothing is xfailed), so a new op is covered the day it lands.

Runtime: the samples are PyTorch's `sample_inputs` (not the longer `reference_inputs`), capped at
MAX_SAMPLES per op by keeping every k-th sample (k = ceil(count / MAX_SAMPLES)). Twenty ops have more,
chiefly max_pool2d (1,440), logspace.tensor_overload (1,201), max_pool1d (864) and unique (528), whose
generators cycle through their options (ceil_mode, padding, dilation, batched/unbatched inputs; dtypes
and bounds; sorted/return_inverse/return_counts/dim); the stride meets every variation. In all,
about 307 OpInfos and 3,292 of their 9,035 samples (`--all` runs every one).
`python tests/test_opinfo.py [--all]` prints the pass rate over the capped (or all) samples and over
the ops, with every failure.
"""
import functools
import re
import sys

import numpy as np
import pytest

import torch
# PyTorch's OpInfo table; it needs the expecttest package, which the test extra installs: a missing one fails
from torch.testing._internal import common_methods_invocations

import retrograd as rg

MAX_SAMPLES = 50
RTOL, ATOL = 1e-7, 1e-9

# Names retrograd binds to something that is not the op PyTorch's OpInfo means (dtypes, not casts).
NOT_THE_OP = {"float", "double", "int", "long", "bool", "half", "short"}

# Ops whose values are random draws or uninitialised memory: only shapes and dtypes are compared (PyTorch's
# own OpInfo tests skip their values too); the generator's parity has its own tests.
RANDOM_VALUES = {"empty", "empty_like", "new_empty", "rand_like", "randn_like", "randn", "rand", "randint",
                 "randint_like", "nn.functional.dropout", "nn.functional.dropout2d", "bernoulli", "normal",
                 "uniform", "multinomial"}

TORCH_DTYPES = {torch.float64: rg.float64, torch.float32: rg.float32, torch.int64: rg.int64,
                torch.int32: rg.int32, torch.bool: rg.bool, torch.float16: rg.float16}


def _is_function(obj):
    return callable(obj) and not isinstance(obj, type) and not isinstance(obj, np.dtype)


def _lookup(root, dotted):
    for part in dotted.split("."):
        root = getattr(root, part, None)
        if root is None:
            return None
    return root


def _call_method(name, x, *args, **kwargs):
    attr = getattr(x, name)
    return attr(*args, **kwargs) if callable(attr) else attr


# OpInfos whose `op` reorders its arguments: the sample's input is not the function's first argument.
REORDERED = {
    "where": lambda x, condition, other: rg.where(condition, x, other),
    "nn.functional.embedding": lambda weight, index, **kwargs: rg.nn.functional.embedding(index, weight, **kwargs),
    "polygamma": lambda x, n, **kwargs: rg.polygamma(n, x, **kwargs),
    "special.polygamma": lambda x, n, **kwargs: rg.special.polygamma(n, x, **kwargs),
    "einsum": lambda tensors, equation: rg.einsum(equation, tensors),
}


def _flips(ours, theirs):
    """Per column of the first k columns of `ours` (..., m, k): -1 where it is the negative of `theirs`, else 1."""
    dots = (ours.detach().numpy() * theirs.detach().numpy()).sum(axis=-2, keepdims=True)
    return np.where(dots < 0, -1.0, 1.0)


def _svd_in_torchs_gauge(torch_out, rg_out):
    """Singular vectors (and eigenvectors) are defined up to a sign per column, which the LAPACK library picks
    (NumPy's OpenBLAS and PyTorch's MKL pick differently): retrograd's columns are flipped, differentiably, to
    PyTorch's signs (U's and V's together, so that U S V^T stays the same), so that the values and gradients
    compared are those of one factorization. Only the first k = min(m, n) columns of U and V are defined at all
    (a full U's or V's other columns are any basis of the complement, and get no gradient in PyTorch): both
    sides are narrowed to those."""
    k = torch_out[1].shape[-1]
    V_is_transposed = type(torch_out).__name__ == "linalg_svd"  # torch.linalg.svd's Vh, torch.svd's V
    U_t, S_t, V_t = torch_out[0][..., :k], torch_out[1], torch_out[2][..., :k, :].mT if V_is_transposed else \
        torch_out[2][..., :k]
    U, S, V = rg_out[0][..., :k], rg_out[1], rg_out[2][..., :k, :].mT if V_is_transposed else rg_out[2][..., :k]
    flip = rg.tensor(_flips(U, U_t))
    return (U_t, S_t, V_t), (U * flip, S, V * flip)


def _eigh_in_torchs_gauge(torch_out, rg_out):
    """Eigenvectors likewise: each column of retrograd's flipped to PyTorch's sign."""
    values, vectors = rg_out
    return torch_out, (values, vectors * rg.tensor(_flips(vectors, torch_out[1])))


GAUGE_FIXED = {"linalg.svd": _svd_in_torchs_gauge, "svd": _svd_in_torchs_gauge, "linalg.eigh": _eigh_in_torchs_gauge}

# Variants whose `op` builds its input from the sample's tensors (a rank-deficient a @ b^T for pinv.singular).
REORDERED_VARIANTS = {"linalg.pinv.singular": lambda a, b: rg.linalg.pinv(a @ b.mT)}

# Known gaps, each with its reason: {opinfo id: why}. Strict: once an op passes, its entry must go (the
# xfail then fails), so the table only ever lists real gaps. Empty: every collected op passes.
FIXED_ELSEWHERE = {}


def retrograd_op(opinfo):
    """The retrograd callable for an OpInfo, taking PyTorch's arguments, or None if retrograd lacks it."""
    name = opinfo.name
    if name in NOT_THE_OP:
        return None
    if f"{name}.{opinfo.variant_test_name}" in REORDERED_VARIANTS:
        return REORDERED_VARIANTS[f"{name}.{opinfo.variant_test_name}"]
    if name in REORDERED:
        return REORDERED[name]
    if opinfo.variant_test_name == "in_place":  # PyTorch's op calls the method: input.normal_(*args)
        return functools.partial(_call_method, name + "_") if hasattr(rg.Tensor, name + "_") else None
    if _is_function(_lookup(torch, name)):
        found = _lookup(rg, name)
        return found if _is_function(found) else None
    if hasattr(rg.Tensor, name):  # PyTorch calls it as a method or property
        return functools.partial(_call_method, name)
    return None


def _opinfos():
    found = []
    for opinfo in common_methods_invocations.op_db:
        if torch.float64 not in opinfo.supported_dtypes("cpu") or retrograd_op(opinfo) is None:
            continue
        found.append(opinfo)
    return found


OPINFOS = _opinfos()


def _to_rg(value):
    if isinstance(value, torch.Tensor):
        return rg.tensor(value.detach().numpy().copy(), requires_grad=value.requires_grad)
    if isinstance(value, torch.dtype):
        return TORCH_DTYPES[value]
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_rg(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_rg(v) for k, v in value.items()}
    return value


def _leaves(value):
    """The tensors in a result or an argument list, in order (nested tuples and lists flattened)."""
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    return [value] if isinstance(value, (torch.Tensor, rg.Tensor)) else []


def _samples(opinfo, cap=MAX_SAMPLES):
    """PyTorch's float64 samples for the op; past `cap`, every k-th one (k = ceil(count / cap)), so that
    each variation the generator cycles through (ceil_mode, padding, unbatched, ...) is still met."""
    torch.manual_seed(0)
    samples = list(opinfo.sample_inputs("cpu", torch.float64, requires_grad=True))
    return samples if cap is None else samples[::-(-len(samples) // cap)]


def check_sample(opinfo, sample, rng):
    """Compare one sample's forward and backward; raises AssertionError (or retrograd's error) on a mismatch."""
    torch_args = [sample.input, *sample.args]
    torch_out = opinfo.op(*torch_args, **sample.kwargs)
    rg_args, rg_kwargs = _to_rg(torch_args), _to_rg(sample.kwargs)
    # PyTorch's random ops run under wrapper_set_seed (manual_seed(42)); retrograd's generator is PyTorch's,
    # so the same seed gives the same draws (dropout inside attention, for one)
    rg.manual_seed(42)
    rg_out = retrograd_op(opinfo)(*rg_args, **rg_kwargs)
    if opinfo.name in GAUGE_FIXED:
        torch_out, rg_out = GAUGE_FIXED[opinfo.name](torch_out, rg_out)
    torch_outs, rg_outs = _leaves(torch_out), _leaves(rg_out)
    if not torch_outs:  # a Python scalar or bool result
        assert rg_out == torch_out, f"result {rg_out!r} vs PyTorch's {torch_out!r}"
        return
    assert len(rg_outs) == len(torch_outs), f"{len(rg_outs)} outputs vs PyTorch's {len(torch_outs)}"
    for i, (r, t) in enumerate(zip(rg_outs, torch_outs)):
        expected = t.detach().numpy()
        assert r.shape == expected.shape, f"output {i}: shape {tuple(r.shape)} vs PyTorch's {expected.shape}"
        assert r.dtype == expected.dtype, f"output {i}: dtype {r.dtype} vs PyTorch's {expected.dtype}"
        if opinfo.name not in RANDOM_VALUES:
            np.testing.assert_allclose(r.detach().numpy(), expected, rtol=RTOL, atol=ATOL, err_msg=f"output {i}")
    differentiable = [i for i, t in enumerate(torch_outs) if t.requires_grad]
    torch_inputs = [t for t in _leaves([torch_args, sample.kwargs]) if t.requires_grad]
    if not differentiable or not torch_inputs or opinfo.name in RANDOM_VALUES:
        return
    rg_inputs = [t for t in _leaves([rg_args, rg_kwargs]) if t.requires_grad]
    cotangents = [rng.standard_normal(torch_outs[i].shape) for i in differentiable]
    for i in differentiable:
        assert rg_outs[i].requires_grad, f"output {i} does not require grad, PyTorch's does"
    try:
        expected = torch.autograd.grad([torch_outs[i] for i in differentiable], torch_inputs,
                                       [torch.from_numpy(c) for c in cotangents], allow_unused=True)
    except RuntimeError as refusal:  # a derivative PyTorch does not implement (igamma's a, heaviside, unique)
        if "is not implemented" not in str(refusal):
            raise
        with pytest.raises(RuntimeError, match=re.escape(str(refusal))):  # refused alike, in PyTorch's words
            rg.autograd.grad([rg_outs[i] for i in differentiable], rg_inputs, [rg.tensor(c) for c in cotangents],
                             allow_unused=True)
        return
    got = rg.autograd.grad([rg_outs[i] for i in differentiable], rg_inputs,
                           [rg.tensor(c) for c in cotangents], allow_unused=True)
    for position, (g, e) in enumerate(zip(got, expected)):
        if e is None:
            continue  # PyTorch's graph does not reach this input; retrograd's zeros or None both fit
        assert g is not None, f"input {position}: no gradient, PyTorch's is {e.numpy()}"
        np.testing.assert_allclose(g.numpy(), e.numpy(force=True), rtol=RTOL, atol=ATOL,  # force: a ZeroTensor
                                   err_msg=f"gradient of input {position}")


def run_op(opinfo, cap=MAX_SAMPLES):
    """(number of samples, [(sample, failure message)]) for one OpInfo."""
    rng = np.random.default_rng(0)
    failures, count = [], 0
    for sample in _samples(opinfo, cap):
        count += 1
        try:
            check_sample(opinfo, sample, rng)
        except Exception as error:  # noqa: BLE001 - every failure is reported with its sample
            failures.append((sample, f"{type(error).__name__}: {str(error).strip()[:300]}"))
    return count, failures


def _opinfo_id(opinfo):
    return opinfo.name + (f".{opinfo.variant_test_name}" if opinfo.variant_test_name else "")


def _marked(opinfo):
    reason = FIXED_ELSEWHERE.get(_opinfo_id(opinfo))
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(opinfo, id=_opinfo_id(opinfo), marks=marks)


@pytest.mark.parametrize("opinfo", [_marked(opinfo) for opinfo in OPINFOS])
def test_opinfo_samples_match_pytorch(opinfo):
    count, failures = run_op(opinfo)
    assert count > 0, f"{_opinfo_id(opinfo)}: PyTorch gave no float64 samples"
    report = "\n".join(f"  {sample.summary() if hasattr(sample, 'summary') else sample}\n    {message}"
                       for sample, message in failures[:5])
    assert not failures, f"{_opinfo_id(opinfo)}: {len(failures)} of {count} samples differ from PyTorch:\n{report}"


def test_opinfo_covers_the_core_ops():
    """The name mapping finds the ops retrograd has always had (a broken lookup would silently cover nothing)."""
    covered = {opinfo.name for opinfo in OPINFOS}
    for name in ("add", "matmul", "softmax", "nn.functional.conv2d", "nn.functional.max_pool2d", "gather",
                 "norm", "view", "__getitem__"):
        assert name in covered, f"{name} is no longer matched to a retrograd op"


def main(argv):
    """The pass rate over every sample (`--all`, no cap) or the capped ones the test runs."""
    cap = None if "--all" in argv else MAX_SAMPLES
    total = passed = ops_passing = 0
    for opinfo in OPINFOS:
        count, failures = run_op(opinfo, cap)
        total += count
        passed += count - len(failures)
        ops_passing += not failures
        for sample, message in failures:
            print(f"FAIL {_opinfo_id(opinfo)}: {message.splitlines()[0][:200]}")
    print(f"samples: {passed} of {total} pass ({100 * passed / max(total, 1):.2f}%); "
          f"ops: {ops_passing} of {len(OPINFOS)} fully pass")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
