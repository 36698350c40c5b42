"""The benchmark harness, the retrograd workloads against their shipped PyTorch twin (torch_workloads.py), the twin
against the reference spec ../shared/bench/torch_ref.py when it is at hand, and the `retrograd` command."""
import argparse
import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from retrograd.bench import graph_memory, harness, torch_workloads, workloads
from retrograd.cli import main

REPO = Path(__file__).resolve().parents[1]
# the team's specification, beside this workspace's checkout; a clone of the repository alone does not have it
SPEC = REPO.parent / "shared" / "bench" / "torch_ref.py"


@pytest.fixture(scope="module")
def torch_ref():
    """The PyTorch side the workloads are compared with: the shipped torch_workloads.py, imported as a module
    (its command line does not run)."""
    return torch_workloads


@pytest.fixture(scope="module")
def spec():
    """../shared/bench/torch_ref.py imported as a module; skips where it is absent (a clone of the repository)."""
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is absent (a clone of the repository alone): the shipped torch_workloads.py is "
                    "checked against retrograd's workloads by the other tests instead")
    module_spec = importlib.util.spec_from_file_location("torch_ref", SPEC)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


# ----- the harness, with fake scripts ---------------------------------------------------------------------
FAKE = """
import json, os, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
name = args["--workload"]
mode = os.environ.get("RETROGRAD_KERNELS") or "-"
log = os.environ["FAKE_LOG"]
with open(log, "a") as f:
    f.write(f"{LIB} {name} {args['--steps']} {args['--warmup']} {args['--threads']} {args['--dtype']} "
            f"{os.environ['OMP_NUM_THREADS']} {mode}\\n")
if name == os.environ.get("FAKE_FAIL_" + LIB) or mode == os.environ.get("FAKE_FAIL_MODE"):
    print(f"workload {name} needs retrograd.nn (not yet available)", file=sys.stderr)
    sys.exit(3)
with open(log) as f:
    round_ = sum(line.split()[:2] == [LIB, name] and line.split()[-1] == mode for line in f) - 1
medians = json.loads(os.environ.get(f"FAKE_MEDIANS_{LIB}_{name}") or os.environ.get(f"FAKE_MEDIANS_{LIB}_{mode}")
                     or os.environ["FAKE_MEDIANS_" + LIB])
print("some chatter first")
print(json.dumps({"workload": name, "lib": "numpy-gemm" if name == "gemm_bound_mlp" else LIB,
                  "median_s": medians[round_ % len(medians)], "min_s": 0.0,
                  "final_loss": float(os.environ.get(f"FAKE_LOSS_{LIB}_{mode}") or os.environ["FAKE_LOSS_" + LIB]),
                  "kernels": "fake_kernel (Numba)" if mode == "numba" else "none (NumPy only)"}))
"""


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    """Fake retrograd and torch_ref scripts that log their calls and print the JSON they are told to."""
    scripts = {}
    for lib in ("retrograd", "torch"):
        scripts[lib] = tmp_path / f"fake_{lib}.py"
        scripts[lib].write_text(f"LIB = {lib!r}\n" + textwrap.dedent(FAKE))
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("FAKE_MEDIANS_retrograd", "[0.003, 0.004, 0.010]")
    monkeypatch.setenv("FAKE_MEDIANS_torch", "[0.001, 0.004, 0.002]")
    monkeypatch.setenv("FAKE_LOSS_retrograd", "1.0")
    monkeypatch.setenv("FAKE_LOSS_torch", "1.0005")

    def bench(names, **kwargs):
        kwargs.setdefault("rounds", 3)
        kwargs.setdefault("kernels", "numpy")  # one retrograd run per round; the two-mode tests ask for both
        kwargs.setdefault("torch_ref", scripts["torch"])
        results = harness.run_bench(names, retrograd_script=scripts["retrograd"], log=lambda message: None, **kwargs)
        calls = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
        log.unlink(missing_ok=True)
        return results, calls

    bench.scripts = scripts
    return bench


def test_rounds_interleave_retrograd_then_torch_in_fresh_processes(fakes):
    results, calls = fakes(["ops_small", "mlp"], threads=3)
    order = [(lib, name) for lib, name, *_ in calls]
    assert order == ([("retrograd", "ops_small"), ("torch", "ops_small")] * 3
                     + [("retrograd", "mlp"), ("torch", "mlp")] * 3)
    # each process got the workload's default steps, the threads as argument and in the environment
    assert {tuple(c[2:7]) for c in calls if c[1] == "ops_small"} == {("100", "10", "3", "float32", "3")}
    assert {tuple(c[2:7]) for c in calls if c[1] == "mlp"} == {("50", "10", "3", "float32", "3")}
    assert {c[7] for c in calls if c[0] == "retrograd"} == {"numpy"}  # kernels="numpy": RETROGRAD_KERNELS set
    assert [r["workload"] for r in results] == ["ops_small", "mlp"]


def test_ratio_is_the_median_of_per_round_ratios(fakes):
    (result,), _ = fakes(["ops_small"])
    assert result["retrograd_round_s"] == [0.003, 0.004, 0.010]
    assert result["round_ratios"] == pytest.approx([3.0, 1.0, 5.0])
    assert result["ratio"] == pytest.approx(3.0)  # not 0.004 / 0.002 = 2, the ratio of the medians
    assert result["retrograd_median_s"] == pytest.approx(0.004)
    assert result["torch_median_s"] == pytest.approx(0.002)
    assert result["rounds"] == 3 and result["threads"] == 2
    row = next(line for line in harness.format_table([result]).splitlines() if line.startswith("ops_small"))
    assert " 3.00x   1.00-5.00 " in row  # the median ratio, then the lowest and highest round's


@pytest.mark.parametrize("dtype, theirs, mismatch", [
    ("float32", "1.0005", False),  # 5e-4 relative: float32 rounding over a run
    ("float32", "1.002", True),
    ("float64", "1.0000001", False),
    ("float64", "1.00001", True),
])
def test_mismatch_flag(fakes, monkeypatch, dtype, theirs, mismatch):
    monkeypatch.setenv("FAKE_LOSS_torch", theirs)
    (result,), calls = fakes(["mlp_tiny"], rounds=1, dtype=dtype)
    assert calls[0][5] == dtype
    assert result["retrograd_final_loss"] == 1.0 and result["torch_final_loss"] == float(theirs)
    assert result["mismatch"] is mismatch
    assert ("MISMATCH" in harness.format_table([result])) is mismatch


def test_gemm_floor_runs_in_mlps_rounds_and_divides_it_round_by_round(fakes, monkeypatch):
    monkeypatch.setenv("FAKE_MEDIANS_retrograd_gemm_bound_mlp", "[0.001, 0.002]")
    results, calls = fakes(["mlp", "gemm_bound_mlp"], rounds=2, steps=7, warmup=2)
    # the floor runs between retrograd's step and PyTorch's, in each of mlp's rounds, not in rounds of its own
    assert [(lib, name) for lib, name, *_ in calls] == [
        ("retrograd", "mlp"), ("retrograd", "gemm_bound_mlp"), ("torch", "mlp")] * 2
    assert {tuple(c[2:4]) for c in calls} == {("7", "2")}
    mlp, gemm = results
    assert gemm["lib"] == "numpy-gemm" and gemm["torch_median_s"] is None and gemm["ratio"] is None
    assert gemm["retrograd_round_s"] == [0.001, 0.002] and gemm["rounds"] == 2
    assert mlp["gemm_floor_s"] == gemm["retrograd_median_s"] == pytest.approx(0.0015)
    # the median of the per-round ratios (0.003 / 0.001, 0.004 / 0.002), not the ratio of the medians (2.33)
    assert mlp["ratio_to_gemm_floor"] == pytest.approx(2.5)
    assert mlp["torch_ratio_to_gemm_floor"] == pytest.approx(1.5)  # 0.001 / 0.001, 0.004 / 0.002; not 1.67
    assert "mlp: retrograd's step takes 2.50x its GEMMs alone (gemm_bound_mlp, numpy), PyTorch's 1.50x" in (
        harness.format_table(results))


def test_gemm_floor_alone_still_runs_in_its_own_rounds(fakes, monkeypatch):
    monkeypatch.setenv("FAKE_MEDIANS_retrograd_gemm_bound_mlp", "[0.001, 0.002]")
    (gemm,), calls = fakes(["gemm_bound_mlp"], rounds=2)
    assert [(lib, name) for lib, name, *_ in calls] == [("retrograd", "gemm_bound_mlp")] * 2
    assert gemm["retrograd_round_s"] == [0.001, 0.002] and "ratio_to_gemm_floor" not in gemm


def test_a_failing_floor_keeps_mlps_whole_rounds(fakes, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL_retrograd", "gemm_bound_mlp")
    results, calls = fakes(["gemm_bound_mlp", "mlp"], rounds=2)
    assert [(lib, name) for lib, name, *_ in calls] == [("retrograd", "mlp"), ("retrograd", "gemm_bound_mlp")]
    assert [r["workload"] for r in results] == ["gemm_bound_mlp", "mlp"]  # the order asked for
    gemm, mlp = results
    assert mlp["rounds"] == gemm["rounds"] == 0 and "needs retrograd.nn" in mlp["error"]
    assert mlp.get("ratio_to_gemm_floor") is None


def test_a_failing_workload_is_reported_and_the_others_run(fakes, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL_retrograd", "cnn")
    results, calls = fakes(["cnn", "ops_small"], rounds=2)
    assert [(lib, name) for lib, name, *_ in calls][:2] == [("retrograd", "cnn"), ("retrograd", "ops_small")]
    cnn, ops = results
    assert "needs retrograd.nn (not yet available)" in cnn["error"] and cnn["rounds"] == 0
    assert ops["error"] is None and ops["rounds"] == 2
    assert "cnn: " in harness.format_table(results)


# ----- both kernel modes: retrograd with its compiled kernels and NumPy only, in each round --------------------
@pytest.fixture
def two_modes(fakes, monkeypatch):
    """The fakes with different times and kernel reports for the two modes of retrograd."""
    monkeypatch.setenv("FAKE_MEDIANS_retrograd_numba", "[0.002, 0.003]")
    monkeypatch.setenv("FAKE_MEDIANS_retrograd_numpy", "[0.004, 0.006]")
    monkeypatch.setenv("FAKE_MEDIANS_torch", "[0.001, 0.004]")
    return fakes


def test_both_modes_interleave_kernels_numpy_then_torch(two_modes):
    (result,), calls = two_modes(["ops_small"], rounds=2, kernels="both")
    assert [lib for lib, *_ in calls] == ["retrograd", "retrograd", "torch"] * 2
    assert [mode for lib, *_, mode in calls if lib == "retrograd"] == ["numba", "numpy"] * 2  # RETROGRAD_KERNELS
    # the top-level fields keep their meaning for the first mode (kernels on, as a default run of retrograd)
    assert result["kernel_mode"] == "numba" and list(result["modes"]) == ["numba", "numpy"]
    assert result["retrograd_round_s"] == [0.002, 0.003] and result["round_ratios"] == pytest.approx([2.0, 0.75])
    assert result["ratio"] == pytest.approx(1.375) and (result["ratio_min"], result["ratio_max"]) == (0.75, 2.0)
    assert result["kernels"] == "fake_kernel (Numba)"
    numpy_only = result["modes"]["numpy"]
    assert numpy_only["retrograd_round_s"] == [0.004, 0.006] and numpy_only["round_ratios"] == pytest.approx([4, 1.5])
    assert numpy_only["ratio"] == pytest.approx(2.75) and numpy_only["retrograd_median_s"] == pytest.approx(0.005)
    assert (numpy_only["ratio_min"], numpy_only["ratio_max"]) == pytest.approx((1.5, 4.0))
    assert numpy_only["kernels"] == "none (NumPy only)" and numpy_only["rounds"] == 2
    assert result["modes"]["numba"]["ratio"] == result["ratio"]
    assert result["kernel_speedup"] == pytest.approx(2.0)  # NumPy-only time / time with kernels, per round


def test_both_modes_json_is_complete(two_modes):
    (result,), _ = two_modes(["ops_small"], rounds=2, kernels="both")
    record = json.loads(harness.format_json([result]))
    for key in ("retrograd_median_s", "torch_median_s", "ratio", "ratio_min", "ratio_max", "kernels", "kernel_mode",
                "kernel_speedup", "round_ratios", "retrograd_final_loss", "torch_final_loss", "mismatch"):
        assert key in record, key
    for mode in ("numba", "numpy"):
        assert set(record["modes"][mode]) == set(harness.MODE_FIELDS)


def test_both_modes_row_gives_both_ratios(two_modes):
    (result,), _ = two_modes(["ops_small"], rounds=2, kernels="both")
    header, _, row, *notes = harness.format_table([result]).splitlines()
    assert "kernels ms" in header and "numpy ms" in header and "kernels ratio" in header and "numpy ratio" in header
    assert row.split()[:9] == ["ops_small", "2.500", "5.000", "2.500", "1.38x", "0.75-2.00", "2.75x", "1.50-4.00",
                               "1"]
    assert "ops_small: kernels fake_kernel (Numba)" in notes
    assert any(note.startswith("kernels = retrograd with its compiled kernels") for note in notes)


def test_one_mode_keeps_the_one_column_table(two_modes):
    (result,), calls = two_modes(["ops_small"], rounds=2, kernels="numba")
    assert [(lib, mode) for lib, *_, mode in calls if lib == "retrograd"] == [("retrograd", "numba")] * 2
    assert list(result["modes"]) == ["numba"] and result["kernel_speedup"] is None
    header = harness.format_table([result]).splitlines()[0]
    assert "retrograd ms" in header and "numpy ms" not in header


def test_a_mode_whose_loss_differs_from_torchs_is_flagged(two_modes, monkeypatch):
    monkeypatch.setenv("FAKE_LOSS_retrograd_numpy", "1.01")
    (result,), _ = two_modes(["ops_small"], rounds=1, kernels="both")
    assert result["modes"]["numba"]["mismatch"] is False and result["modes"]["numpy"]["mismatch"] is True
    assert result["mismatch"] is True
    assert "ops_small (numpy): final losses differ by" in harness.format_table([result])


def test_a_failing_mode_ends_the_workload_on_whole_rounds(two_modes, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL_MODE", "numpy")
    (result,), calls = two_modes(["ops_small"], rounds=3, kernels="both")
    assert [(lib, mode) for lib, *_, mode in calls] == [("retrograd", "numba"), ("retrograd", "numpy")]
    assert "needs retrograd.nn" in result["error"]
    assert result["rounds"] == 0 and result["modes"]["numba"]["rounds"] == 0  # no round without its numpy twin


def test_gemm_floor_divides_each_mode(two_modes, monkeypatch):
    monkeypatch.setenv("FAKE_MEDIANS_retrograd_gemm_bound_mlp", "[0.001, 0.001]")
    results, calls = two_modes(["mlp", "gemm_bound_mlp"], rounds=2, kernels="both")
    # the floor once a round, in mlp's rounds (torch's process inherits whatever RETROGRAD_KERNELS the suite runs with)
    assert [(lib, name, mode if lib == "retrograd" else "-") for lib, name, *_, mode in calls] == [
        ("retrograd", "mlp", "numba"), ("retrograd", "mlp", "numpy"), ("retrograd", "gemm_bound_mlp", "numba"),
        ("torch", "mlp", "-")] * 2
    mlp, gemm = results
    assert list(gemm["modes"]) == ["numba"]  # the GEMMs alone run no kernel: one run per round is the floor
    assert mlp["ratio_to_gemm_floor"] == mlp["modes"]["numba"]["ratio_to_gemm_floor"] == pytest.approx(2.5)
    assert mlp["modes"]["numpy"]["ratio_to_gemm_floor"] == pytest.approx(5.0)
    assert mlp["torch_ratio_to_gemm_floor"] == pytest.approx(2.5)
    assert ("mlp: retrograd's step takes 2.50x its GEMMs alone with kernels, 5.00x NumPy only (gemm_bound_mlp, "
            "numpy), PyTorch's 2.50x") in harness.format_table(results).splitlines()


def test_kernel_modes_default_to_both_where_numba_is_installed(monkeypatch):
    monkeypatch.setattr(harness, "numba_available", lambda: True)
    assert harness.kernel_modes() == ["numba", "numpy"] and harness.kernel_modes("numpy") == ["numpy"]
    monkeypatch.setattr(harness, "numba_available", lambda: False)
    assert harness.kernel_modes() == ["numpy"]
    for choice in ("both", "numba"):
        with pytest.raises(ImportError, match=r'needs Numba: pip install "retrograd\[fast\]"'):
            harness.kernel_modes(choice)
    with pytest.raises(ValueError, match="kernels must be one of both, numba, numpy, got 'fast'"):
        harness.kernel_modes("fast")


def test_bench_kernels_numba_without_numba_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setattr(harness, "numba_available", lambda: False)
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--workload", "ops_small", "--kernels", "numba", "--torch-ref", __file__])
    assert exit_.value.code == 2
    assert 'retrograd[fast]' in capsys.readouterr().err


def test_retrograd_alone_without_torch_ref(fakes):
    (result,), calls = fakes(["ops_small"], rounds=2, torch_ref=False)
    assert [lib for lib, *_ in calls] == ["retrograd", "retrograd"]
    assert result["torch_median_s"] is None and result["ratio"] is None and result["mismatch"] is None
    assert result["retrograd_median_s"] == pytest.approx(0.0035)


def test_json_output_one_object_per_workload(fakes):
    results, _ = fakes(["ops_small", "mlp_tiny"], rounds=1)
    lines = harness.format_json(results).splitlines()
    assert len(lines) == 2
    for line, name in zip(lines, ["ops_small", "mlp_tiny"]):
        record = json.loads(line)
        assert record["workload"] == name
        for key in ("retrograd_median_s", "torch_median_s", "ratio", "retrograd_final_loss", "torch_final_loss",
                    "rounds", "threads", "mismatch"):
            assert key in record


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="unknown workload"):
        harness.run_bench(["nope"], torch_ref=False)
    with pytest.raises(FileNotFoundError, match="--torch-ref"):
        harness.find_torch_ref("/no/such/torch_ref.py")


def test_torch_ref_lookup_order(tmp_path, monkeypatch):
    given = tmp_path / "given.py"
    given.write_text("")
    from_env = tmp_path / "env.py"
    from_env.write_text("")
    monkeypatch.setenv("RETROGRAD_TORCH_REF", str(from_env))
    assert harness.find_torch_ref(given) == given.resolve()
    assert harness.find_torch_ref() == from_env.resolve()
    monkeypatch.delenv("RETROGRAD_TORCH_REF")
    # the default is the twin shipped in the package, wherever the command runs; a ../shared beside the
    # current directory changes nothing (a clone does not have one, so no default may depend on it)
    shared = tmp_path / "shared" / "bench"
    shared.mkdir(parents=True)
    (shared / "torch_ref.py").write_text("")
    (tmp_path / "clone").mkdir()
    monkeypatch.chdir(tmp_path / "clone")
    assert harness.find_torch_ref() == Path(torch_workloads.__file__).resolve()
    assert harness.find_torch_ref().is_file()


# ----- the workloads against their PyTorch twin, torch_workloads.py ------------------------------------
def test_registry_matches_the_spec(torch_ref):
    assert workloads.WORKLOADS == torch_ref.WORKLOADS
    assert set(workloads.MODELS) | workloads.OPS | {"gemm_bound_mlp"} == set(torch_ref.WORKLOADS)
    for name in ("INPUT_SHAPES", "SGD_SETTINGS", "POOL", "VOCAB", "SEQ", "RNN_BATCH", "OPS", "RECURRENT"):
        assert getattr(workloads, name) == getattr(torch_ref, name), name


@pytest.mark.parametrize("name", ["mlp_tiny", "cnn", "lstm", "ops_small"])
def test_data_is_torch_refs(torch_ref, name):
    ours, theirs = workloads.make_data(name, np.dtype("float32")), torch_ref.make_data(name, np.dtype("float32"))
    assert len(ours) == len(theirs) == workloads.POOL
    for (x, y), (tx, ty) in zip(ours, theirs):
        np.testing.assert_array_equal(x, tx)
        np.testing.assert_array_equal(y, ty)
        assert x.dtype == tx.dtype


def _final_losses(name, dtype, torch_ref, steps=3):
    dtype = np.dtype(dtype)
    step, params, lib = workloads.build(name, dtype)
    batches = workloads.as_retrograd_batches(name, workloads.make_data(name, dtype))
    _, ours = workloads.time_steps(step, batches, 0, steps)
    if name in workloads.OPS:
        torch_step = torch_ref.ops_step(name, dtype)
        torch_batches = [(torch.from_numpy(x), None) for x, _ in torch_ref.make_data(name, dtype)]
    else:
        torch_step, _ = torch_ref.torch_step(name, dtype)
        torch_batches = [(torch.from_numpy(x), torch.from_numpy(y).flatten())
                         for x, y in torch_ref.make_data(name, dtype)]
    _, theirs = torch_ref.time_steps(torch_step, torch_batches, 0, steps)
    assert lib == "retrograd" and ours.dtype == dtype
    return ours.item(), theirs.item()


@pytest.mark.parametrize("name, dtype, rtol", [
    ("ops_small", "float32", 2e-5),  # numpy and torch sum the mean's 4096 squares in different orders
    ("ops_small", "float64", 1e-12),
    ("ops_large", "float32", 2e-5),
])
def test_ops_final_loss_equals_torchs(torch_ref, name, dtype, rtol):
    ours, theirs = _final_losses(name, dtype, torch_ref)
    assert ours == pytest.approx(theirs, rel=rtol)
    assert ours > 0


@pytest.mark.parametrize("name", ["mlp", "mlp_tiny", "resmlp", "cnn", "lstm", "gru", "rnn"])
def test_training_final_loss_equals_torchs(torch_ref, name):
    ours, theirs = _final_losses(name, "float32", torch_ref, steps=3)
    assert ours == pytest.approx(theirs, rel=1e-4)


def test_gemm_bound_mlp_is_torch_refs_step(torch_ref):
    x = workloads.make_data("gemm_bound_mlp", np.dtype("float32"))[0][0]
    step, params, lib = workloads.build("gemm_bound_mlp")
    assert lib == "numpy-gemm" and params is None
    for ours, theirs in zip(step(x, None), torch_ref.gemm_bound_step(np.dtype("float32"))(x, None)):
        np.testing.assert_array_equal(ours, theirs)


# ----- the shipped twin against the spec (only where ../shared/bench/torch_ref.py is at hand) --------------
SPEC_CONSTANTS = ("WORKLOADS", "OPS", "RECURRENT", "INPUT_SHAPES", "SGD_SETTINGS", "POOL", "VOCAB", "SEQ", "RNN_BATCH")


def test_twin_has_the_specs_workloads_and_settings(spec):
    for name in SPEC_CONSTANTS:
        assert getattr(torch_workloads, name) == getattr(spec, name), name
    for name in spec.WORKLOADS:
        for dtype in ("float32", "float64"):
            for (x, y), (sx, sy) in zip(torch_workloads.make_data(name, np.dtype(dtype)),
                                        spec.make_data(name, np.dtype(dtype))):
                np.testing.assert_array_equal(x, sx)
                np.testing.assert_array_equal(y, sy)
                assert x.dtype == sx.dtype
        if name not in spec.OPS | {"gemm_bound_mlp"}:  # the same parameters, in the same order
            ours, theirs = torch_workloads.build_model(name), spec.build_model(name)
            assert [(n, p.shape) for n, p in ours.named_parameters()] == [
                (n, p.shape) for n, p in theirs.named_parameters()]


def _torch_final_loss(module, name, dtype, steps=1):
    dtype = np.dtype(dtype)
    if name in module.OPS:
        step = module.ops_step(name, dtype)
        batches = [(torch.from_numpy(x), None) for x, _ in module.make_data(name, dtype)]
    else:
        step, _ = module.torch_step(name, dtype)
        batches = [(torch.from_numpy(x), torch.from_numpy(y).flatten()) for x, y in module.make_data(name, dtype)]
    _, loss = module.time_steps(step, batches, 0, steps)
    return loss.item()


@pytest.mark.parametrize("name", sorted(set(torch_workloads.WORKLOADS) - {"gemm_bound_mlp"}))
def test_twin_ends_on_the_specs_final_loss(spec, name):
    # the same PyTorch code on the same data and parameters: bit for bit
    assert _torch_final_loss(torch_workloads, name, "float32") == _torch_final_loss(spec, name, "float32")


def test_twin_prints_the_specs_fields(spec, capsys):
    args = argparse.Namespace(list=False, workload="mlp_tiny", steps=2, warmup=1, threads=1, dtype="float32",
                              json=True)
    threads = torch.get_num_threads()
    try:
        printed = []
        for module in (torch_workloads, spec):  # main() as the command line calls it, in this process
            module.main(args)
            printed.append(json.loads(capsys.readouterr().out))
    finally:
        torch.set_num_threads(threads)
    ours, theirs = printed
    assert ours.keys() == theirs.keys()
    assert ours["final_loss"] == theirs["final_loss"] and ours["params"] == theirs["params"]
    args.list = True
    torch_workloads.main(args)
    listed = capsys.readouterr().out
    spec.main(args)
    assert listed == capsys.readouterr().out


def test_build_rejects_an_unknown_workload():
    with pytest.raises(KeyError, match="unknown workload 'nope'"):
        workloads.build("nope")


def test_workload_script_prints_torch_refs_fields():
    done = subprocess.run([sys.executable, workloads.__file__, "--workload", "ops_small", "--steps", "3",
                           "--warmup", "1", "--threads", "1", "--json"], capture_output=True, text=True,
                          env=harness._environment(1), timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result.keys() == {"workload", "lib", "median_s", "min_s", "steps", "threads", "dtype", "params",
                             "final_loss", "kernels"}  # kernels: retrograd's own field (the fast extra)
    assert result["lib"] == "retrograd" and result["steps"] == 3 and result["params"] == 64 * 64
    assert result["kernels"].startswith("none")  # ops_small runs no fused recurrent op, whatever RETROGRAD_KERNELS says


def test_the_report_says_which_kernels_each_workload_ran():
    run = {"median_s": 0.002, "final_loss": 1.0, "kernels": "lstm_cell_backward, lstm_cell_forward (Numba)"}
    lstm = harness.summarize("lstm", [run], [{"median_s": 0.001, "final_loss": 1.0}], 2, "float32", 20, 3)
    assert lstm["kernels"] == run["kernels"]
    assert "lstm: kernels lstm_cell_backward, lstm_cell_forward (Numba)" in harness.format_table([lstm]).splitlines()
    older = harness.summarize("mlp", [{"median_s": 0.002, "final_loss": 1.0}], [], 2, "float32", 50, 10)
    assert older["kernels"] is None and "kernels" not in harness.format_table([older])


def test_workloads_run_as_a_module_from_the_package():
    """One home, one name: `python -m retrograd.bench.workloads` from anywhere (no top-level benchmarks
    package, no path set up by hand)."""
    assert not (REPO / "benchmarks").exists() and importlib.util.find_spec("benchmarks") is None
    done = subprocess.run([sys.executable, "-m", "retrograd.bench.workloads", "--workload", "ops_small",
                           "--steps", "2", "--warmup", "0", "--json"], capture_output=True, text=True,
                          cwd=REPO.parent, env=harness._environment(1), timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["workload"] == "ops_small"


# ----- the command ----------------------------------------------------------------------------------------
def test_bench_list(capsys):
    assert main(["bench", "--list"]) == 0
    out = capsys.readouterr().out
    for name in workloads.WORKLOADS:
        assert name in out
    assert f"ops_small       {workloads.WORKLOADS['ops_small']}" in out


def test_bench_command_json_with_a_fake_torch_ref(fakes, capsys):
    status = main(["bench", "--workload", "ops_small", "--rounds", "2", "--steps", "2", "--warmup", "1",
                   "--threads", "1", "--torch-ref", str(fakes.scripts["torch"]), "--json"])
    assert status == 0
    (line,) = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert record["workload"] == "ops_small" and record["rounds"] == 2 and record["threads"] == 1
    assert record["torch_final_loss"] == 1.0005 and record["retrograd_final_loss"] > 0
    assert record["mismatch"] is True  # the fake's loss is not ops_small's


def test_bench_compares_with_the_shipped_twin_by_default(capsys, monkeypatch):
    monkeypatch.delenv("RETROGRAD_TORCH_REF", raising=False)
    status = main(["bench", "--workload", "mlp_tiny", "--rounds", "1", "--steps", "2", "--warmup", "1",
                   "--threads", "1", "--json"])
    assert status == 0
    (line,) = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert record["torch_median_s"] > 0 and record["ratio"] > 0
    assert record["mismatch"] is False  # retrograd and PyTorch end mlp_tiny on the same loss
    assert record["torch_final_loss"] == pytest.approx(record["retrograd_final_loss"], rel=1e-4)
    # the test extra installs Numba, so both kernel modes ran, and end on the same bits
    assert record["kernel_mode"] == "numba" and list(record["modes"]) == ["numba", "numpy"]
    assert record["modes"]["numpy"]["kernels"].startswith("none (NumPy only")
    assert record["modes"]["numpy"]["retrograd_final_loss"] == record["retrograd_final_loss"]
    assert record["modes"]["numpy"]["ratio"] > 0 and record["kernel_speedup"] > 0


# ----- bench --memory: bytes held between forward and backward ----------------------------------------------
def test_graph_memory_counts_each_buffer_once():
    base = np.zeros(100, np.float32)
    assert graph_memory.distinct_bytes([base, base[10:], base.reshape(10, 10).T, np.ones(3)]) == 400 + 24
    strided = np.lib.stride_tricks.as_strided(base, (5, 10), (8, 4))
    assert graph_memory.distinct_bytes([strided, base]) == 400


def test_graph_memory_of_an_mlp_matches_pytorchs_saved_tensors():
    """mlp: each Linear saves its input (and W where dL/dx is needed), ReLU its output (the next Linear's input,
    counted once), cross-entropy its softmax and the target (as PyTorch's log_softmax and nll_loss do)."""
    ours, theirs = graph_memory.retrograd_graph_bytes("mlp"), graph_memory.torch_saved_bytes("mlp")
    x, h, w2, w3 = 128 * 784 * 4, 128 * 256 * 4, 256 * 256 * 4, 10 * 256 * 4
    softmax, target = 128 * 10 * 4, 128 * 8
    assert ours == x + 2 * h + w2 + w3 + softmax + target
    assert ours <= theirs


def test_bench_memory_prints_both_columns(capsys):
    assert main(["bench", "--memory", "--workload", "mlp_tiny"]) == 0
    out = capsys.readouterr().out
    assert "| workload | retrograd graph | PyTorch saved tensors | ratio |" in out
    assert out.strip().splitlines()[-1].startswith("| mlp_tiny | ")
    with pytest.raises(SystemExit):
        main(["bench", "--memory", "--workload", "ops_small"])  # trains no model


def test_bench_rejects_unknown_workload():
    with pytest.raises(SystemExit):
        main(["bench", "--workload", "nope"])
