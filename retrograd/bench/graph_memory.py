"""Bytes a training step's graph holds between forward and backward, in retrograd and in PyTorch.

retrograd: walk the graph from the loss; every node's VJP closure (its cells, recursing into captured
functions, tuples, lists and dicts) and the arrays its version check keeps (`node.saved`) are what the
graph holds. PyTorch: `torch.autograd.graph.saved_tensors_hooks` sees every tensor an op saves for
backward. Both count each underlying buffer once (a view is charged its whole base, which it keeps
alive), and both include the parameters an op saves (a Linear saves W to compute dL/dx).

    python -m retrograd.bench.graph_memory --workload mlp cnn lstm gru
"""
import argparse
import functools
import sys
import types

import numpy as np

WORKLOADS = ("mlp", "cnn", "lstm", "gru")  # the feed-forward and recurrent steps the README's table reports


def captured(fn):
    """({variable name: [arrays]}, [names of captured Tensors]) for everything `fn` keeps through its closure
    cells, recursing into captured functions, functools.partial, tuples, lists, dicts and the fields of a
    NamedTuple (a recurrent op's cache), which are listed under their field names."""
    from retrograd.tensor import Tensor

    arrays, tensors, seen = {}, [], set()

    def visit(name, value):
        if (name, id(value)) in seen:  # one array may be held under two names: list it under both
            return
        seen.add((name, id(value)))
        if isinstance(value, Tensor):
            tensors.append(name)
        elif isinstance(value, np.ndarray):
            arrays.setdefault(name, []).append(value)
        elif isinstance(value, tuple) and hasattr(value, "_fields"):  # a cache (NamedTuple): one name per field
            for field in value._fields:
                visit(field, getattr(value, field))
        elif isinstance(value, (tuple, list)):
            for item in value:
                visit(name, item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(name, item)
        elif isinstance(value, functools.partial):
            visit(name, value.func)
            for item in value.args + tuple(value.keywords.values()):
                visit(name, item)
        elif isinstance(value, types.FunctionType):
            for default in value.__defaults__ or ():
                visit(value.__name__ + ".default", default)
            for inner, cell in zip(value.__code__.co_freevars, value.__closure__ or ()):
                try:
                    contents = cell.cell_contents
                except ValueError:  # an empty cell: a name the function never got a value for
                    continue
                visit(inner, contents)

    visit(getattr(fn, "__name__", "fn"), fn)
    return arrays, tensors


def graph_arrays(*outputs):
    """Every array the graph behind `outputs` keeps for backward: VJP closures and version-checked arrays."""
    found, seen, stack = [], set(), [t.grad_fn for t in outputs if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        backward_fn = getattr(node, "backward_fn", None)  # AccumulateGrad (a leaf) saves nothing
        if backward_fn is not None:
            found.extend(a for group in captured(backward_fn)[0].values() for a in group)
        found.extend(entry[2] for entry in getattr(node, "saved", None) or () if isinstance(entry[2], np.ndarray))
        stack.extend(edge[0] for edge in getattr(node, "next_edges", None) or ()
                     if edge is not None and edge[0] is not None)
    return found


def _owner(array):
    """The array that owns `array`'s memory (NumPy collapses views of views onto it; as_strided wraps it)."""
    while array.base is not None:
        base = array.base
        if not isinstance(base, np.ndarray):
            base = getattr(base, "base", None)  # as_strided's DummyArray keeps the real array as .base
            if not isinstance(base, np.ndarray):
                return array
        array = base
    return array


def distinct_bytes(arrays):
    """Total bytes of the distinct buffers behind `arrays`."""
    owners = {id(owner): owner for owner in map(_owner, arrays)}
    return sum(owner.nbytes for owner in owners.values())


def _first_batch(pool):
    """The first (inputs, targets) of a data pool as arrays of their own: a view would charge the graph
    that keeps it with the whole pool."""
    x, y = pool[0]
    return np.array(x), np.array(y)


def retrograd_graph_bytes(name, dtype="float32"):
    """Bytes retrograd's graph holds after the forward pass of the workload's first training step."""
    import retrograd.nn.functional as F
    from . import workloads

    dtype = np.dtype(dtype)
    model = workloads.MODELS[name]()
    model.to(dtype)
    workloads.init_parameters(model, dtype)
    x, y = workloads.as_retrograd_batches(name, [_first_batch(workloads.make_data(name, dtype))])[0]
    loss = F.cross_entropy(model(x), y)
    return distinct_bytes(graph_arrays(loss))


def torch_saved_bytes(name, dtype="float32"):
    """Bytes of the tensors PyTorch saves for backward in the same step (each storage once)."""
    import torch

    from . import torch_workloads as tw

    dtype = np.dtype(dtype)
    model = tw.build_model(name).to(getattr(torch, dtype.name))
    tw.init_parameters(model, dtype)
    x, y = _first_batch(tw.make_data(name, dtype))
    x, y = torch.from_numpy(x), torch.from_numpy(y.reshape(-1))
    storages = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = torch.nn.functional.cross_entropy(model(x), y)
    del loss
    return sum(storages.values())


def measure(names=WORKLOADS, dtype="float32", torch_too=True):
    """[{workload, retrograd_bytes, torch_bytes, ratio}] for each workload."""
    rows = []
    for name in names:
        ours = retrograd_graph_bytes(name, dtype)
        theirs = torch_saved_bytes(name, dtype) if torch_too else None
        rows.append({"workload": name, "retrograd_bytes": ours, "torch_bytes": theirs,
                     "ratio": ours / theirs if theirs else None})
    return rows


def format_table(rows):
    """A Markdown table: the README's, and what `retrograd bench --memory` prints."""
    def mb(n):
        return "-" if n is None else f"{n / 2**20:.2f} MiB"

    lines = ["| workload | retrograd graph | PyTorch saved tensors | ratio |", "| --- | ---: | ---: | ---: |"]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append(f"| {r['workload']} | {mb(r['retrograd_bytes'])} | {mb(r['torch_bytes'])} | {ratio} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description="bytes held between forward and backward, retrograd and PyTorch")
    parser.add_argument("--workload", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args(argv)
    print(format_table(measure(args.workload, args.dtype)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
