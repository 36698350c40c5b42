"""retrograd.gradfree: each method reaches a stated loss on a stated problem with a fixed seed, leaves the best
parameters in the model, keeps to its budget, calls the callback, refuses bad arguments, and gives the same
history in-process, through a 2-process pool and through a Dask cluster."""
import multiprocessing
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from distributed import Client, LocalCluster

import retrograd as rg
from retrograd import cli, gradfree, nn
from retrograd.gradfree import compare
from retrograd.gradfree.evolution import _centred_ranks
from retrograd.nn.utils import parameters_to_vector

# The regression problem: y = 1.5 x0 - 2 x1 + 0.5 x2 + 0.3 exactly, 32 seeded points; a Linear(3, 1) in float64
# from manual_seed(0) (PyTorch's default init) has 4 parameters and a minimum loss of 0.
_rng = np.random.default_rng(0)
REGRESSION_X = _rng.standard_normal((32, 3))
REGRESSION_Y = REGRESSION_X @ np.array([[1.5], [-2.0], [0.5]]) + 0.3
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def flat(model):
    return parameters_to_vector(model.parameters()).detach().numpy().copy()


def regression():
    rg.manual_seed(0)
    return nn.Linear(3, 1).double(), gradfree.BatchLoss(nn.MSELoss(), REGRESSION_X, REGRESSION_Y)


def xor_mlp():
    rg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)).double()
    return model, gradfree.BatchLoss(nn.MSELoss(), XOR_X, XOR_Y)


# (method, budget, options, the loss it must reach on the regression problem); the initial loss is 4.97
REACHES = [
    ("nelder-mead", 300, {}, 1e-8),
    ("powell", 300, {}, 1e-9),
    ("annealing", 2000, {"radius": 3.0}, 0.02),      # the default box x0 +- 1 does not hold w1 = -2
    ("metropolis", 1000, {}, 0.01),
    ("cma", 1000, {}, 1e-12),
    ("ga", 2000, {"mutation_std": 0.3}, 0.002),
    ("es", 2000, {"lr": 0.1}, 0.01),
]


@pytest.mark.parametrize("method, budget, options, target", REACHES, ids=[r[0] for r in REACHES])
def test_each_method_reaches_its_stated_loss_and_leaves_the_best_point_in_the_model(method, budget, options, target):
    model, objective = regression()
    with rg.no_grad():
        start = objective(model).item()
    result = gradfree.minimize(model, objective, method=method, budget=budget, seed=0, progress=False, **options)
    assert start > 4.9 and result.fun < target, (result.fun, result.message)
    assert result.method == method and result.nfev <= budget and result.history.nfev[-1] == result.nfev
    with rg.no_grad():  # the model holds x, and its loss is fun, exactly
        assert np.array_equal(flat(model), result.x)
        assert objective(model).item() == result.fun
    assert result.history.best[-1] == result.fun and np.all(np.diff(result.history.best) <= 0)


def test_cma_solves_xor_with_a_2_2_1_mlp_where_greedy_methods_stop_in_a_local_minimum():
    model, objective = xor_mlp()
    assert gradfree.minimize(model, objective, method="cma", budget=2000, seed=0, progress=False).fun < 1e-8
    model, objective = xor_mlp()
    assert gradfree.minimize(model, objective, method="powell", budget=2000, seed=0, progress=False).fun > 0.1


@pytest.mark.parametrize("method", list(gradfree.METHODS))
def test_the_budget_holds_and_the_callback_sees_every_row(method):
    model, objective = regression()
    rows = []
    result = gradfree.minimize(model, objective, method=method, budget=123, seed=1, progress=False,
                               callback=rows.append)
    assert result.nfev <= 123 and [row["nfev"] for row in rows] == result.history.nfev.tolist()
    assert rows[-1]["best"] == result.fun


def test_a_population_method_stops_before_a_generation_that_would_pass_the_budget():
    model, objective = regression()
    result = gradfree.minimize(model, objective, method="es", budget=120, popsize=10, seed=0, progress=False)
    assert result.nfev == 110 and "the next 11 would pass it" in result.message  # 10 generations of 10 + the mean
    model, objective = regression()
    result = gradfree.minimize(model, objective, method="ga", budget=100, popsize=20, elite=2, seed=0, progress=False)
    assert result.history.nfev.tolist() == [20, 38, 56, 74, 92]  # 20, then popsize - elite per generation


def test_a_callback_returning_true_stops_the_search_with_the_best_point_so_far_in_the_model():
    model, objective = regression()
    result = gradfree.minimize(model, objective, method="cma", budget=1000, seed=0, progress=False,
                               callback=lambda row: row["nfev"] >= 20)
    assert result.nfev == 24 and result.message == "stopped by the callback"  # 3 generations of 8
    with rg.no_grad():
        assert objective(model).item() == result.fun


def test_an_error_in_the_objective_leaves_the_best_point_so_far_in_the_model():
    model, objective = regression()
    calls = []

    def failing(model):
        calls.append(1)
        if len(calls) == 30:
            raise RuntimeError("the objective failed")
        return objective(model)

    best = []
    with pytest.raises(RuntimeError, match="the objective failed"):
        gradfree.minimize(model, failing, method="metropolis", budget=100, seed=0, progress=False,
                          callback=lambda row: best.append(row["best"]))
    with rg.no_grad():
        assert objective(model).item() == best[-1] < 4.9


def test_the_seed_fixes_the_result_and_nan_counts_as_infinity():
    runs = [gradfree.minimize(*regression(), method="ga", budget=200, seed=3, progress=False) for _ in range(2)]
    assert np.array_equal(runs[0].history.best, runs[1].history.best) and np.array_equal(runs[0].x, runs[1].x)
    model, _ = regression()
    result = gradfree.minimize(model, lambda m: float("nan"), method="metropolis", budget=5, seed=0, progress=False)
    assert result.fun == np.inf


def test_no_method_draws_from_or_reseeds_numpys_global_random_state():
    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    for method in gradfree.METHODS:
        options = {"popsize": 10} if method in gradfree.POPULATION_METHODS else {}
        gradfree.minimize(*regression(), method=method, budget=60, seed=0, progress=False, **options)
    assert np.array_equal(np.random.get_state()[1], before)


def test_the_progress_bar_counts_evaluations_on_stderr(capsys):
    gradfree.minimize(*regression(), method="powell", budget=50, seed=0)
    assert "evaluations" in capsys.readouterr().err


def test_centred_ranks_run_from_minus_a_half_for_the_lowest_loss_to_a_half_for_the_highest():
    assert _centred_ranks(np.array([3.0, 1.0, 2.0, 10.0, -4.0])).tolist() == [0.25, -0.25, 0.0, 0.5, -0.5]


BAD_ARGUMENTS = [
    ({"method": "bfgs"}, ValueError, "unknown method 'bfgs'; choose from nelder-mead, powell"),
    ({"budget": 0}, ValueError, "budget must be a positive integer .* got 0"),
    ({"budget": 2.5}, ValueError, "budget must be a positive integer .* got 2.5"),
    ({"budget": True}, ValueError, "budget must be a positive integer .* got True"),
    ({"method": "powell", "executor": ProcessPoolExecutor}, ValueError, "executor applies to the population methods"),
    ({"executor": "pool"}, TypeError, "executor must be a concurrent.futures.Executor .* got str"),
    ({"callback": 3}, TypeError, "callback must be callable"),
    ({"chunks": 0}, ValueError, "chunks must be a positive integer"),
    ({"method": "ga", "sigma": 0.1}, TypeError, r"minimize\(method='ga'\): unknown option\(s\) sigma; its options are "
                                                r"popsize, elite"),
    ({"method": "ga", "budget": 10}, ValueError, r"budget=10 is smaller than one generation \(50 evaluations\)"),
    ({"method": "es", "popsize": 7}, ValueError, "popsize must be an even number"),
]


@pytest.mark.parametrize("arguments, error, message", BAD_ARGUMENTS, ids=[str(a[0]) for a in BAD_ARGUMENTS])
def test_bad_arguments_are_refused_with_a_message_naming_them_and_the_model_is_unchanged(arguments, error, message):
    model, objective = regression()
    before = flat(model)
    with pytest.raises(error, match=message):
        gradfree.minimize(model, objective, **{"progress": False, **arguments})
    assert np.array_equal(flat(model), before)


def test_a_model_without_trainable_parameters_or_a_non_callable_objective_is_refused():
    model, objective = regression()
    for p in model.parameters():
        p.requires_grad = False
    with pytest.raises(ValueError, match="has no trainable parameters"):
        gradfree.minimize(model, objective, progress=False)
    with pytest.raises(TypeError, match="objective must be callable"):
        gradfree.minimize(regression()[0], 3.0, progress=False)


def test_a_missing_package_names_the_extra_that_installs_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)  # makes `import scipy.optimize` raise ImportError
    monkeypatch.setitem(sys.modules, "cma", None)
    for method, package in [("nelder-mead", "scipy"), ("cma", "cma")]:
        with pytest.raises(ImportError, match=rf'needs the {package} package: pip install "retrograd\[gradfree\]"'):
            gradfree.minimize(*regression(), method=method, progress=False)


def test_importing_retrograd_and_gradfree_imports_no_optional_package():
    code = ("import sys, retrograd, retrograd.gradfree, retrograd.gradfree.compare; "
            "print(sorted(m for m in ('scipy', 'cma', 'dask', 'distributed') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


# ----- the executor does not change the result ------------------------------------------------------------
def _history(method, executor):
    model, objective = xor_mlp()
    options = {"cma": {}, "ga": {"popsize": 12}, "es": {"popsize": 10}}[method]
    result = gradfree.minimize(model, objective, method=method, budget=120, seed=7, executor=executor, progress=False,
                               chunks=3, **options)
    return result.history.nfev, result.history.best, result.history.loss, result.x


@pytest.fixture(scope="module")
def process_pool():
    # spawn: forking this process, which runs the Dask client's threads, could copy a lock some thread holds
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.fixture(scope="module")
def dask_executor():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client.get_executor()


@pytest.mark.parametrize("method", gradfree.POPULATION_METHODS)
def test_in_process_a_process_pool_and_dask_give_identical_histories(method, process_pool, dask_executor):
    reference = _history(method, None)
    pooled = _history(method, process_pool)
    distributed = _history(method, dask_executor)
    for other in (pooled, distributed):
        for column, expected in zip(other, reference):
            assert column.dtype == expected.dtype and np.array_equal(column, expected)  # float64, exactly
    assert len(reference[0]) > 5


# ----- compare-optimizers ----------------------------------------------------------------------------------
def test_architecture_gives_about_the_requested_parameter_count():
    assert compare.architecture(10) == (2, 2, 2)        # 12 parameters, digits 0 and 1
    assert compare.architecture(100) == (5, 5, 10)      # 90
    assert compare.architecture(1000) == (26, 26, 10)   # 972
    assert compare.architecture(10000) == (64, 133, 10)  # 9,985


def test_compare_optimizers_prints_the_table_and_saves_the_plot(tmp_path, capsys):
    plot = tmp_path / "compare.png"
    status = cli.main(["compare-optimizers", "--sizes", "10", "--budget", "60", "--time-limit", "30", "--methods",
                       "sgd", "metropolis", "ga", "--train-size", "300", "--val-size", "100", "--plot", str(plot)])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0 and plot.stat().st_size > 10_000
    rows = [line.split("|")[1:-1] for line in lines if line.startswith("|") and "method" not in line][1:]
    assert [row[1].strip() for row in rows] == ["sgd", "metropolis", "ga"]
    assert [int(row[0]) for row in rows] == [12] * 3 and [int(row[2].replace(",", "")) for row in rows] == [60, 60, 50]


def test_every_method_starts_from_the_same_model_and_the_time_limit_stops_it():
    data = compare.digits_8x8(300, 100, seed=0)
    runs = compare.compare_at(100, data, ["sgd", "adam", "metropolis", "ga"], budget=60, time_limit=1e9, seed=0,
                              log=lambda line: None)
    start = runs[0].best[0]  # SGD's first loss, at the shared start, as Adam's and Metropolis' first evaluation
    adam = runs[1]
    assert adam.adam_match == 60  # Adam's own row: its evaluations
    matched = [run for run in runs[2:] if run.adam_match > 0]  # the first Adam evaluation at or below theirs
    assert matched and all(adam.best[run.adam_match - 1] <= run.train_loss < adam.best[run.adam_match - 2]
                           for run in matched if run.adam_match >= 2)
    assert runs[1].best[0] == runs[2].best[0] == start and runs[3].best[0] <= start  # the GA's first row: 50 points
    fast = compare.compare_at(10, data, ["adam", "powell"], budget=10_000, time_limit=1e-9, seed=0,
                              log=lambda line: None)
    assert [run.stopped for run in fast] == ["time limit of 1e-09 s reached"] * 2
    assert [int(run.nfev[-1]) for run in fast] == [1, 1]


def test_a_bad_size_is_refused_at_parse_time(capsys):
    with pytest.raises(SystemExit):
        cli.main(["compare-optimizers", "--sizes", "10,x"])
    assert "argument --sizes: expected comma-separated parameter counts" in capsys.readouterr().err


def test_too_few_images_for_the_model_are_refused_with_the_options_to_raise():
    with pytest.raises(ValueError, match="0 training and 1 held-out images .* raise --train-size and --val-size"):
        compare.make_task(10, compare.digits_8x8(3, 2, seed=0), seed=0)


def test_without_matplotlib_the_table_is_printed_and_the_plot_skipped_with_a_notice_naming_the_extra(monkeypatch,
                                                                                                     tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    lines = []
    compare.run(sizes=(10,), methods=("sgd",), budget=5, train_size=300, val_size=100, plot_path=tmp_path / "p.png",
                log=lines.append)
    assert lines[-1] == '(no plot: the comparison plot needs matplotlib: pip install "retrograd[plot]")'
    assert len(lines) == 3 and not (tmp_path / "p.png").exists()


def test_a_missing_package_stops_the_comparison_before_any_method_runs(monkeypatch):
    monkeypatch.setitem(sys.modules, "cma", None)
    lines = []
    with pytest.raises(ImportError, match=r'compare-optimizers --methods cma needs the cma package: .*\[gradfree\]'):
        compare.run(sizes=(10,), methods=("sgd", "cma"), budget=5, log=lines.append)
    assert lines == []
