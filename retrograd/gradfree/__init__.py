"""Training without gradients: any retrograd model, any of six methods, one front door.

    from retrograd import gradfree
    result = gradfree.minimize(model, gradfree.BatchLoss(nn.MSELoss(), x, y), method="cma", budget=2000, seed=0)

`minimize` searches the flat vector of the model's trainable parameters
(`nn.utils.parameters_to_vector` / `vector_to_parameters`), leaves the best point in the model and
returns a `MinimizeResult` with its history. The methods, each from the library its field uses:

    'nelder-mead', 'powell'   scipy.optimize.minimize                     (scipy_methods.py)
    'annealing'               scipy.optimize.dual_annealing               (scipy_methods.py)
    'metropolis'              classic Metropolis simulated annealing      (metropolis.py)
    'cma'                     CMA-ES from the `cma` package, ask/tell     (cma_es.py)
    'ga'                      a genetic algorithm                         (genetic.py)
    'es'                      OpenAI evolution strategies + optim.Adam    (evolution.py)

SciPy and cma come with `pip install "retrograd[gradfree]"`; they are imported only when a method
needs them. The population methods ('cma', 'ga', 'es') evaluate each generation through any
`concurrent.futures.Executor`, with results independent of it (`pip install "retrograd[distributed]"`
for Dask). `compare.py` is `retrograd compare-optimizers`: these methods against backprop.
"""
from .minimizer import METHODS, POPULATION_METHODS, minimize
from .problem import BatchLoss
from .result import History, MinimizeResult

__all__ = ["minimize", "METHODS", "POPULATION_METHODS", "BatchLoss", "MinimizeResult", "History"]
