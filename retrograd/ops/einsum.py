"""Einstein summation, PyTorch's `torch.einsum`, as one op: the equation string ('ij,jk->ik', with `...`,
repeated subscripts for diagonals, the output omitted) or the sublist form (x, [0, 1], y, [1, 2], [0, 2]).

    y[out] = sum over the subscripts not in `out` of  x_1[s_1] * x_2[s_2] * ... * x_n[s_n]

The product is linear in each operand, so its gradient is an einsum too, of the upstream gradient with the
other operands:

    dL/dx_i[u_i] = einsum(g[out], x_j[s_j] for j != i  ->  u_i)          u_i: s_i's distinct subscripts

and then, as the forward read them: a subscript of s_i alone (summed in x_i only) gets the gradient
broadcast along it; a subscript repeated in s_i (a diagonal, 'ii->i') puts the gradient on that diagonal
of zeros; a size-1 dimension broadcast against a longer one (PyTorch lets any subscript broadcast) gets
the sum, as every broadcast does.

The equation is first rewritten with explicit subscripts (ellipsis dimensions get labels of their own,
size-1 broadcast dimensions are squeezed out), so NumPy's einsum computes both passes.
"""
import string

import numpy as np

from ..tensor import Tensor
from .base import record
from .compare import _SCALAR_TYPE_NAMES


class _Ellipsis(int):
    """The label of one dimension covered by `...`, counted from the right (0: the last one)."""


def _tokens(term, start, equation, where):
    """The labels of one term of the equation (letters; `...` as None), checking each character."""
    labels, position, seen_ellipsis = [], 0, False
    while position < len(term):
        char = term[position]
        if char == ".":
            if seen_ellipsis:
                raise RuntimeError(f"einsum(): found '.' for {where} for which an ellipsis was already found")
            if term[position:position + 3] != "...":
                raise RuntimeError(f"einsum(): found '.' for {where} that is not part of any ellipsis"
                                   + (" (...)" if where == "output" else ""))
            labels.append(None)
            seen_ellipsis, position = True, position + 3
            continue
        if char not in string.ascii_letters and char != " ":
            raise RuntimeError(f"einsum(): invalid subscript given at index {start + position} in the equation "
                               f"string, subscripts must be in [a-zA-Z]")
        if char != " ":
            labels.append(char)
        position += 1
    return labels


def _operand_labels(labels, shape, index):
    """The term's labels with `...` expanded to the dimensions it covers (as _Ellipsis labels)."""
    named = [label for label in labels if label is not None]
    if None not in labels:
        if len(named) != len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(named)}) does not match "
                               f"the number of dimensions ({len(shape)}) for operand {index} and no ellipsis was "
                               f"given")
        return named
    if len(named) > len(shape):
        raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(named)}) is more than the "
                           f"number of dimensions ({len(shape)}) for operand {index}")
    covered = len(shape) - len(named)
    at = labels.index(None)
    return labels[:at] + [_Ellipsis(covered - 1 - k) for k in range(covered)] + labels[at + 1:]


def _sizes(operand_labels, shapes):
    """{label: size} over all operands, with PyTorch's checks: a repeated subscript's sizes agree, and
    sizes of one subscript in different operands broadcast (equal, or 1)."""
    sizes = {}
    for index, (labels, shape) in enumerate(zip(operand_labels, shapes)):
        own = {}
        for label, size in zip(labels, shape):
            if label in own and own[label] != size:
                raise RuntimeError(f"einsum(): subscript {label} is repeated for operand {index} but the sizes "
                                   f"don't match, {size} != {own[label]}")
            own[label] = size
        for label, size in own.items():
            seen = sizes.get(label)
            if seen is not None and size != seen and 1 not in (size, seen):
                if isinstance(label, _Ellipsis):
                    raise RuntimeError(f"einsum(): dimension {labels.index(label) - labels.index(_first_ellipsis(labels))}"
                                       f" covered by ellipsis in operand {index} has size {size} which does not "
                                       f"broadcast with previously seen ellipsis with size {seen} for the respective "
                                       f"dimension")
                raise RuntimeError(f"einsum(): subscript {label} has size {size} for operand {index} which does not "
                                   f"broadcast with previously seen size {seen}")
            sizes[label] = size if seen is None or seen == 1 else seen
    return sizes


def _first_ellipsis(labels):
    return next(label for label in labels if isinstance(label, _Ellipsis))


def _output_labels(rhs, start, equation, operand_labels):
    """The output's labels: the given ones (checked), or PyTorch's implicit output: the ellipsis dimensions,
    then the subscripts that appear exactly once, in ASCII order (upper case first)."""
    covered = max((sum(isinstance(label, _Ellipsis) for label in labels) for labels in operand_labels), default=0)
    ellipsis = [_Ellipsis(k) for k in reversed(range(covered))]
    if rhs is None:
        counts = {}
        for labels in operand_labels:
            for label in labels:
                if not isinstance(label, _Ellipsis):
                    counts[label] = counts.get(label, 0) + 1
        return ellipsis + sorted(label for label, count in counts.items() if count == 1)
    output = []
    for label in _tokens(rhs, start, equation, "output"):
        if label is None:
            output.extend(ellipsis)
            continue
        if label in output:
            raise RuntimeError(f"einsum(): output subscript {label} appears more than once in the output")
        if not any(label in labels for labels in operand_labels):
            raise RuntimeError(f"einsum(): output subscript {label} does not appear in the equation for any input "
                               f"operand")
        output.append(label)
    return output


def parse(equation, shapes):
    """(labels of each operand, labels of the output, {label: size}) of an equation for operands of `shapes`."""
    lhs, arrow, rhs = equation.partition("->")
    terms, starts, start = lhs.split(","), [], 0
    for term in terms:
        starts.append(start)
        start += len(term) + 1
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    operand_labels = [_operand_labels(_tokens(term, at, equation, f"operand {index}"), shape, index)
                      for index, (term, at, shape) in enumerate(zip(terms, starts, shapes))]
    output = _output_labels(rhs if arrow else None, len(lhs) + 2, equation, operand_labels)
    return operand_labels, output, _sizes(operand_labels, shapes)


def _from_sublists(args):
    """PyTorch's sublist form (op, [0, 1], op, [1, 2], [0, 2]) as (equation, operands): 0-25 are A-Z, 26-51 a-z."""
    def letter(n):
        if n is Ellipsis:
            return "..."
        if not 0 <= n < 52:
            raise ValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")
        return chr(ord("A") + n) if n < 26 else chr(ord("a") + n - 26)
    equation = ",".join("".join(letter(n) for n in sublist) for sublist in args[1::2])
    if len(args) % 2 == 1:
        return equation + "->" + "".join(letter(n) for n in args[-1]), list(args[:-1:2])
    return equation, list(args[::2])


def _arrays_of(operands):
    arrays = []
    for index, operand in enumerate(operands):
        if not isinstance(operand, Tensor):
            raise TypeError(f"einsum(): expected Tensor as element {index} in argument 1, but got "
                            f"{type(operand).__name__}")
        arrays.append(operand.array)
    for array in arrays[1:]:
        if array.dtype != arrays[0].dtype:
            raise RuntimeError(f"einsum(): expected scalar type {_SCALAR_TYPE_NAMES.get(arrays[0].dtype.name)} "
                               f"but found {_SCALAR_TYPE_NAMES.get(array.dtype.name)} (all operands must have one "
                               f"dtype)")
    return arrays


def _integer_operands(arrays, operand_labels, output):
    """PyTorch's integer and bool einsum: an operand summed over a subscript no other term has is summed
    first, as torch.sum does, into int64 (so the result is int64); bools cannot be contracted ("bmm")."""
    def alone(label, index):
        return label not in output and not any(label in labels for j, labels in enumerate(operand_labels)
                                               if j != index)
    if any(alone(label, index) for index, labels in enumerate(operand_labels) for label in labels):
        return [a.astype(np.int64) for a in arrays]
    contracted = {label for labels in operand_labels for label in labels if label not in output}
    if arrays[0].dtype == bool and contracted:
        raise NotImplementedError("einsum(): \"bmm\" not implemented for 'Bool'")
    return arrays


def _letters(operand_labels, output):
    """NumPy's subscripts: each label (letters and ellipsis dimensions alike) gets a letter of its own."""
    letters = {}
    for label in [label for labels in operand_labels for label in labels] + output:
        if label not in letters:
            if len(letters) == 52:
                raise RuntimeError("einsum(): more than 52 distinct subscripts, ellipsis dimensions included")
            letters[label] = string.ascii_letters[len(letters)]
    return letters


def einsum(*args):
    """y = einsum(equation, x_1, ..., x_n): the sum over the subscripts missing from the output of the
    product of the operands ;  dL/dx_i = einsum(g, x_j for j != i -> x_i's subscripts), broadcast along
    a subscript only x_i has and put on the diagonal of a repeated one (see the module docstring).
    Saves `operands` (each operand another operand's gradient reads)."""
    if len(args) < 2:
        raise ValueError("einsum(): must specify the equation string and at least one operand, or at least one "
                         "operand and its subscripts list")
    if isinstance(args[0], Tensor):
        equation, inputs = _from_sublists(args)
    elif isinstance(args[0], str):
        equation, inputs = args[0], list(args[1:])
    else:
        raise TypeError(f"einsum(): argument 'equation' (position 1) must be str, not {type(args[0]).__name__}")
    if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
        inputs = list(inputs[0])  # the old form einsum(equation, [x, y])
    arrays = _arrays_of(inputs)
    operand_labels, output, sizes = parse(equation, [a.shape for a in arrays])
    # a size-1 dimension broadcast against a longer one: squeezed out (its sum), PyTorch's broadcasting
    kept = [[axis for axis, label in enumerate(labels) if not (a.shape[axis] == 1 and sizes[label] != 1)]
            for labels, a in zip(operand_labels, arrays)]
    labels = [[labels[axis] for axis in axes] for labels, axes in zip(operand_labels, kept)]
    squeezed = [a.reshape([a.shape[axis] for axis in axes]) for a, axes in zip(arrays, kept)]
    letters = _letters(labels, output)
    spec = [("".join(letters[label] for label in term)) for term in labels]
    out_spec = "".join(letters[label] for label in output)
    if arrays[0].dtype.kind in "biu":
        squeezed = _integer_operands(squeezed, labels, output)
    fast = len(squeezed) > 1 and arrays[0].dtype.kind == "f"  # pairwise BLAS contractions, in float only
    y = np.einsum(",".join(spec) + "->" + out_spec, *squeezed, optimize=fast)
    if any(np.may_share_memory(y, a) for a in squeezed):  # 'ij->ji', 'ii->i': NumPy's views; ours is a copy
        y = y.copy()
    wanted = [x.requires_grad for x in inputs]
    operands = tuple(a if any(wanted[:i] + wanted[i + 1:]) else None for i, a in enumerate(squeezed))
    shapes, dtype = [a.shape for a in arrays], arrays[0].dtype

    def einsum_backward(grad_out):
        return tuple(_operand_gradient(grad_out, out_spec, spec, operands, i, sizes, letters, labels[i],
                                       shapes[i], dtype) if wanted[i] else None for i in range(len(spec)))

    return record(einsum, np.asarray(y), tuple(inputs), einsum_backward,
                  saved=tuple(x for x, a in zip(inputs, operands) if a is not None))


def _operand_gradient(grad_out, out_spec, spec, arrays, i, sizes, letters, labels, shape, dtype):
    """dL/dx_i: einsum of g with the other operands onto x_i's distinct subscripts, broadcast along those only
    x_i has, placed on the diagonal of those x_i repeats, and shaped as x_i (its squeezed size-1 axes back)."""
    distinct = list(dict.fromkeys(spec[i]))
    elsewhere = set(out_spec).union(*(set(s) for j, s in enumerate(spec) if j != i))
    present = "".join(c for c in distinct if c in elsewhere)
    others = [a for j, a in enumerate(arrays) if j != i]
    terms = ",".join([out_spec] + [s for j, s in enumerate(spec) if j != i])
    grad = np.einsum(terms + "->" + present, grad_out, *others, optimize=len(others) > 0)
    by_letter = {letters[label]: sizes[label] for label in labels}
    grad = np.broadcast_to(grad.reshape([by_letter[c] if c in present else 1 for c in distinct]),
                           [by_letter[c] for c in distinct])
    if len(distinct) < len(spec[i]):  # a repeated subscript: the gradient lies on that diagonal
        full = np.zeros([by_letter[c] for c in spec[i]], dtype)
        strides = [sum(stride for c, stride in zip(spec[i], full.strides) if c == d) for d in distinct]
        np.lib.stride_tricks.as_strided(full, grad.shape, strides, writeable=True)[...] = grad
        grad = full
    return np.ascontiguousarray(grad, dtype=dtype).reshape(shape)
