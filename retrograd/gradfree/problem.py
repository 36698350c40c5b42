"""The model and its objective as a function of one flat vector: what every method minimises.

A `FlatProblem` is the object a worker receives. It holds the model and the objective, and
`problem(x)` writes the float64 vector `x` into the model's trainable parameters (through
`nn.utils.vector_to_parameters`, cast to the parameters' dtype) and returns
`float(objective(model))` computed under `no_grad`. It is picklable whenever the model and the
objective are: a `ProcessPoolExecutor` needs an objective defined at module level (or a
picklable object such as `BatchLoss`); Dask pickles with cloudpickle, which also takes lambdas
and closures.
"""
import numpy as np

from ..autograd.grad_mode import no_grad
from ..nn.utils import parameters_to_vector, vector_to_parameters
from ..tensor import Tensor, from_numpy


def trainable_parameters(model):
    """The parameters `minimize` searches over: those with requires_grad, in `model.parameters()` order."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    if not parameters:
        raise ValueError(f"minimize: the model ({type(model).__name__}) has no trainable parameters "
                         f"(none with requires_grad=True)")
    dtypes = {p.dtype for p in parameters}
    if len(dtypes) > 1:
        raise ValueError(f"minimize: the model's trainable parameters mix dtypes {sorted(map(str, dtypes))}; "
                         f"expected one (call model.double() or model.float() first)")
    return parameters


class FlatProblem:
    """f(x) = objective(model with its trainable parameters set to x), a float; NaN counts as +inf."""

    def __init__(self, model, objective):
        if not callable(objective):
            raise TypeError(f"minimize: objective must be callable as objective(model) -> float, got "
                            f"{type(objective).__name__}")
        self.model = model
        self.objective = objective
        self.dtype = trainable_parameters(model)[0].array.dtype

    def initial_vector(self):
        """The model's current trainable parameters as one float64 NumPy vector (a copy)."""
        with no_grad():
            flat = parameters_to_vector(trainable_parameters(self.model))
        return np.array(flat.array, dtype=np.float64)

    def set_parameters(self, x):
        """Write `x` into the model (a copy, cast to the parameters' dtype: the model never shares x's memory)."""
        vector_to_parameters(from_numpy(np.array(x, dtype=self.dtype)), trainable_parameters(self.model))

    def __call__(self, x):
        self.set_parameters(x)
        with no_grad():
            value = self.objective(self.model)
        value = float(value.item() if isinstance(value, Tensor) else value)
        return np.inf if np.isnan(value) else value


def evaluate_rows(problem, rows):
    """The losses of the candidate rows (a 2-D float64 array): one executor task evaluates a chunk of them."""
    return [problem(row) for row in rows]


class BatchLoss:
    """A ready-made, picklable objective: `loss_fn(model(inputs), targets)` on one fixed batch.

    `inputs` and `targets` are Tensors or arrays; `loss_fn` a loss module such as `nn.MSELoss()` or a
    module-level function (loss_fn(output, target)). Pickling it sends the batch with it, so a worker
    holds its own copy."""

    def __init__(self, loss_fn, inputs, targets):
        self.loss_fn = loss_fn
        self.inputs = inputs if isinstance(inputs, Tensor) else from_numpy(np.asarray(inputs))
        self.targets = targets if isinstance(targets, Tensor) else from_numpy(np.asarray(targets))

    def __call__(self, model):
        return self.loss_fn(model(self.inputs), self.targets)
