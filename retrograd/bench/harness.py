"""Time retrograd against PyTorch on the reference workloads, in the same run, and report ratios.

For each workload and each round, a fresh process times the workload in
retrograd (workloads.py), then another times it in PyTorch (torch_workloads.py,
shipped beside it: the reference spec torch_ref.py's PyTorch side, or any script
with the same command line given as --torch-ref):
r, t, r, t, ... Fresh processes make the thread settings apply (BLAS sizes its
pool when numpy or torch loads) and keep one library's warm caches and heap out
of the other's timings; interleaving spreads the machine's drift over both.
Per workload the report gives the median of each library's per-round medians,
the median of the per-round ratios retrograd/torch (the figure that counts on a
shared, noisy machine), both final losses and whether they disagree.

Where Numba (the fast extra) is installed, each round times retrograd twice, with its compiled kernels
(RETROGRAD_KERNELS=numba) and NumPy only (RETROGRAD_KERNELS=numpy), then PyTorch: rk, rn, t, rk, rn, t, ...
and the report gives both modes' ratios (`kernels=` picks one mode instead). The top-level fields of a
report describe the first mode timed (`kernel_mode`); `modes` holds every mode's figures.

gemm_bound_mlp is numpy on both sides, so it is timed once per round, alone, as
the floor for mlp. When both are run, the floor is timed inside mlp's rounds
(rk, rn, floor, t, ...), so that the machine's drift reaches both alike, and
mlp's row also says how many times its GEMMs alone each library's step takes:
the median of the per-round ratios, like the ratios to PyTorch. (Timed in rounds
of their own, the floor measured 0.45 ms in one run and 0.59 in another.)
"""
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from . import workloads as wl
from ..ops import kernels as kernel_switch

DEFAULT_STEPS, DEFAULT_WARMUP = 50, 10
STEPS = {  # per-workload (steps, warmup) per round: short rounds for slow steps, long ones for fast steps
    "ops_small": (100, 10),
    "mlp_tiny": (100, 10),
    "ops_large": (20, 3),
    "cnn": (30, 5),
    "lstm": (20, 3),
    "gru": (20, 3),
    "rnn": (30, 5),
}
LOSS_RTOL = {"float32": 1e-3, "float64": 1e-6}  # relative difference above which final losses "mismatch"
FLOOR, FLOORED = "gemm_bound_mlp", "mlp"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
HOW_TO_COMPARE = "to compare with PyTorch: pip install torch==2.13.0 (CPU)"
TORCH_WORKLOADS = Path(__file__).resolve().with_name("torch_workloads.py")
KERNEL_MODES = ("numba", "numpy")  # RETROGRAD_KERNELS values: compiled kernels on, NumPy only
KERNEL_CHOICES = ("both",) + KERNEL_MODES
MODE_LABELS = {"numba": "kernels", "numpy": "numpy"}  # the table's column names
MODE_WORDS = {"numba": "with kernels", "numpy": "NumPy only"}
MODE_FIELDS = ("retrograd_median_s", "ratio", "ratio_min", "ratio_max", "kernels", "retrograd_final_loss",
               "loss_rel_diff", "mismatch", "rounds", "retrograd_round_s", "round_ratios")  # per mode, in `modes`


class BenchError(RuntimeError):
    """A benchmark subprocess failed."""


def _package_parent():
    """The directory holding the retrograd package this process imported (site-packages, or a source tree)."""
    return Path(wl.rg.__file__).resolve().parents[1]


def find_torch_ref(path=None):
    """The script that times PyTorch: `path`, else $RETROGRAD_TORCH_REF, else torch_workloads.py shipped
    beside this file (so nothing outside the installed package is needed). An explicit path that does not
    exist is an error."""
    for explicit, source in ((path, "--torch-ref"), (os.environ.get("RETROGRAD_TORCH_REF"), "RETROGRAD_TORCH_REF")):
        if explicit:
            if not Path(explicit).is_file():
                raise FileNotFoundError(f"{source}: no torch_ref.py at {explicit}")
            return Path(explicit).resolve()
    return TORCH_WORKLOADS


def torch_available():
    return importlib.util.find_spec("torch") is not None


def numba_available():
    """Whether the fast extra's Numba is importable (looked up, not imported)."""
    return importlib.util.find_spec("numba") is not None


def kernel_modes(choice=None):
    """The kernel modes each round times retrograd in, in order: "both" -> numba then numpy; "numba" or "numpy"
    alone; None -> both where Numba is importable, else numpy. Timing the kernels without Numba is an error."""
    if choice is None:
        choice = "both" if numba_available() else "numpy"
    if choice not in KERNEL_CHOICES:
        raise ValueError(f"kernels must be one of {', '.join(KERNEL_CHOICES)}, got {choice!r}")
    if choice != "numpy" and not numba_available():
        raise ImportError(f"kernels={choice!r}: timing the compiled kernels needs Numba: {kernel_switch.INSTALL_HINT}")
    return list(KERNEL_MODES) if choice == "both" else [choice]


def steps_for(name, steps=None, warmup=None):
    """(steps, warmup) for one round of a workload: the given values, else its default."""
    default_steps, default_warmup = STEPS.get(name, (DEFAULT_STEPS, DEFAULT_WARMUP))
    return (default_steps if steps is None else steps), (default_warmup if warmup is None else warmup)


def _environment(threads):
    """The subprocesses' environment: the thread counts, and the retrograd this process imported first on the
    path, so that the child (workloads.py run as a script, from inside the package) times the same code."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_package_parent()), env.get("PYTHONPATH")]))
    return env


def run_script(script, name, steps, warmup, threads, dtype, python=None, env=None, timeout=1800):
    """Run `script --workload name ... --json` in a fresh process; its JSON result (BenchError on failure)."""
    command = [python or sys.executable, str(script), "--workload", name, "--steps", str(steps),
               "--warmup", str(warmup), "--threads", str(threads), "--dtype", dtype, "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"{Path(script).name} --workload {name} failed (exit {done.returncode}): {why}")
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        raise BenchError(f"{Path(script).name} --workload {name}: last line is not JSON: {lines[-1][:200]}") from None


def _median(values):
    return statistics.median(values) if values else None


def loss_mismatch(ours, theirs, dtype):
    """(relative difference, mismatch flag) of two final losses; (None, None) when either is missing."""
    if ours is None or theirs is None:
        return None, None
    scale = max(abs(ours), abs(theirs))
    rel = 0.0 if scale == 0 else abs(ours - theirs) / scale
    return rel, rel > LOSS_RTOL[dtype]


def summarize(name, retrograd_runs, torch_runs, threads, dtype, steps, warmup, error=None):
    """One workload's report from its rounds' results (dicts as printed by the scripts)."""
    ours = [run["median_s"] for run in retrograd_runs]
    theirs = [run["median_s"] for run in torch_runs]
    ratios = [a / b for a, b in zip(ours, theirs)]
    our_loss = retrograd_runs[-1].get("final_loss") if retrograd_runs else None
    their_loss = torch_runs[-1].get("final_loss") if torch_runs else None
    rel, mismatch = loss_mismatch(our_loss, their_loss, dtype)
    return {
        "workload": name,
        "lib": retrograd_runs[0].get("lib", "retrograd") if retrograd_runs else "retrograd",
        "retrograd_median_s": _median(ours),
        "torch_median_s": _median(theirs),
        "ratio": _median(ratios),
        "ratio_min": min(ratios, default=None),
        "ratio_max": max(ratios, default=None),
        "kernels": retrograd_runs[-1].get("kernels") if retrograd_runs else None,
        "retrograd_final_loss": our_loss,
        "torch_final_loss": their_loss,
        "loss_rel_diff": rel,
        "mismatch": mismatch,
        "mismatch_rtol": LOSS_RTOL[dtype],
        "rounds": len(ours),
        "threads": threads,
        "dtype": dtype,
        "steps": steps,
        "warmup": warmup,
        "retrograd_round_s": ours,
        "torch_round_s": theirs,
        "round_ratios": ratios,
        "error": error,
    }


def summarize_modes(name, runs_by_mode, torch_runs, threads, dtype, steps, warmup, error=None):
    """One workload's report when retrograd ran in one or more kernel modes ({mode: its rounds' results}): the
    first mode's figures at the top level (as `summarize` gives them), and every mode's in `modes`."""
    per_mode = {mode: summarize(name, runs, torch_runs, threads, dtype, steps, warmup, error)
                for mode, runs in runs_by_mode.items()}
    first = next(iter(per_mode))
    result = dict(per_mode[first], kernel_mode=first)
    result["modes"] = {mode: {key: report[key] for key in MODE_FIELDS} for mode, report in per_mode.items()}
    flags = [report["mismatch"] for report in per_mode.values() if report["mismatch"] is not None]
    result["mismatch"] = any(flags) if flags else None  # a mode whose final loss is not PyTorch's
    result["kernel_speedup"] = _kernel_speedup(runs_by_mode)
    return result


def _kernel_speedup(runs_by_mode):
    """Median over rounds of (NumPy-only step time / step time with kernels), when both modes ran; else None."""
    if not all(mode in runs_by_mode for mode in KERNEL_MODES):
        return None
    pairs = zip(runs_by_mode["numpy"], runs_by_mode["numba"])
    return _median([numpy_run["median_s"] / numba_run["median_s"] for numpy_run, numba_run in pairs])


def run_bench(workloads, rounds=5, threads=2, steps=None, warmup=None, torch_ref=None, dtype="float32",
              retrograd_script=None, python=None, log=None, timeout=1800, kernels=None):
    """Time `workloads` in retrograd and PyTorch, interleaved, `rounds` rounds each; one report dict per workload.

    torch_ref: the script timing PyTorch (torch_ref.py's command line); None looks it up (find_torch_ref: by
    default the shipped torch_workloads.py); False times retrograd alone. Without an importable torch,
    retrograd is timed alone and `log` says how to compare.
    steps/warmup: per round; None takes each workload's default (STEPS, else 50 and 10).
    kernels: "both", "numba" or "numpy" (see kernel_modes; None: both where Numba is importable, else numpy).
    retrograd_script: the script timing retrograd (default workloads.py; tests pass a fake)."""
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    unknown = [name for name in workloads if name not in wl.WORKLOADS]
    if unknown:
        raise ValueError(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(wl.WORKLOADS)}")
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    modes = kernel_modes(kernels)
    if torch_ref is None:
        torch_ref = find_torch_ref()
        if python is None and not torch_available():
            log(f"torch is not importable: timing retrograd alone; {HOW_TO_COMPARE}")
            torch_ref = None
    retrograd_script = retrograd_script or wl.__file__
    env = _environment(threads)
    envs = {mode: dict(env, **{kernel_switch.ENV_VAR: mode}) for mode in modes}
    results = {}
    floor_in_rounds = FLOOR in workloads and FLOORED in workloads  # timed inside mlp's rounds, not in its own
    for name in workloads:
        if name == FLOOR and floor_in_rounds:
            continue
        n_steps, n_warmup = steps_for(name, steps, warmup)
        # numpy against numpy would measure nothing, and the GEMMs alone run no kernel: the floor runs once a round
        compare, timed_modes = (False, modes[:1]) if name == FLOOR else (bool(torch_ref), modes)
        ours, theirs, error = {mode: [] for mode in timed_modes}, [], None
        floor_runs, floor_steps = [], steps_for(FLOOR, steps, warmup)
        for round_ in range(1, rounds + 1):
            try:
                for mode in timed_modes:
                    ours[mode].append(run_script(retrograd_script, name, n_steps, n_warmup, threads, dtype, python,
                                                 envs[mode], timeout))
                if name == FLOORED and floor_in_rounds:
                    floor_runs.append(run_script(retrograd_script, FLOOR, *floor_steps, threads, dtype, python,
                                                 envs[modes[0]], timeout))
            except BenchError as failure:
                error = str(failure)
                log(f"{name}: {error}")
                break
            if compare:
                try:
                    theirs.append(run_script(torch_ref, name, n_steps, n_warmup, threads, dtype, python, env, timeout))
                except BenchError as failure:
                    error, compare = str(failure), False
                    log(f"{name}: {error}; timing retrograd alone")
                    theirs = []
            timed = ", ".join(f"retrograd{'' if len(timed_modes) == 1 else ' ' + MODE_LABELS[mode]} "
                              f"{runs[-1]['median_s'] * 1e3:.3f} ms" for mode, runs in ours.items())
            log(f"{name} round {round_}/{rounds}: {timed}"
                + (f", {FLOOR} {floor_runs[-1]['median_s'] * 1e3:.3f} ms" if floor_runs else "")
                + (f", torch {theirs[-1]['median_s'] * 1e3:.3f} ms" if compare and theirs else ""))
        whole = min(map(len, list(ours.values()) + ([floor_runs] if name == FLOORED and floor_in_rounds else [])))
        ours = {mode: runs[:whole] for mode, runs in ours.items()}  # whole rounds only
        results[name] = summarize_modes(name, ours, theirs[:whole] if theirs else theirs, threads, dtype, n_steps,
                                        n_warmup, error)
        if name == FLOORED and floor_in_rounds:
            results[FLOOR] = summarize_modes(FLOOR, {modes[0]: floor_runs[:whole]}, [], threads, dtype, *floor_steps,
                                             error)
            _add_floor(results[FLOORED], results[FLOOR])
    return [results[name] for name in workloads if name in results]


def _add_floor(floored, floor):
    """Put the floor's time into mlp's report (`floored`), both timed in the same rounds: per library and kernel
    mode, the median over rounds of (its step time / the floor's), at the top level and in each mode's figures."""
    floor_s = floor["retrograd_round_s"]
    if not floor_s:
        return

    def ratio(step_s):
        return _median([step / gemms for step, gemms in zip(step_s, floor_s)]) if step_s else None

    for report in [floored] + list(floored.get("modes", {}).values()):
        report["ratio_to_gemm_floor"] = ratio(report["retrograd_round_s"])
    floored["gemm_floor_s"] = floor["retrograd_median_s"]
    floored["torch_ratio_to_gemm_floor"] = ratio(floored["torch_round_s"])


def _ms(seconds):
    return "-" if seconds is None else f"{seconds * 1e3:.3f}"


def _loss(value):
    return "-" if value is None else f"{value:.6g}"


def _spread(round_ratios):
    """The lowest and highest per-round ratio, e.g. '1.21-1.44'; '-' without a comparison."""
    if not round_ratios:
        return "-"
    return f"{min(round_ratios):.2f}-{max(round_ratios):.2f}"


def _ratio(value):
    return "-" if value is None else f"{value:.2f}x"


def _columns(results):
    """The kernel modes the table has columns for: those of the result that ran the most (one mode: the column
    is called 'retrograd', as before kernels existed)."""
    most = max((list(r.get("modes") or {None: None}) for r in results), key=len, default=[None])
    return most


def _mode_reports(result, modes):
    """Per table column, this result's figures for that mode (the top-level ones for a one-mode result)."""
    by_mode = result.get("modes") or {}
    if len(modes) == 1:
        return [result]
    return [by_mode.get(mode) or {"retrograd_median_s": None, "ratio": None, "round_ratios": []} for mode in modes]


def format_table(results):
    """The human report: one row per workload (with two kernel modes, both modes' times and ratios), then the notes
    the rows need."""
    modes = _columns(results)
    labels = ["retrograd"] if len(modes) == 1 else [MODE_LABELS[mode] for mode in modes]
    ratio_labels = ["ratio"] if len(modes) == 1 else [f"{label} ratio" for label in labels]
    header = (f"{'workload':<15} " + " ".join(f"{label + ' ms':>12}" for label in labels) + f" {'torch ms':>10} "
              + " ".join(f"{label:>{max(7, len(label))}} {'rounds':>11}" for label in ratio_labels)
              + f"  {'retrograd loss':>14} {'torch loss':>12}")
    lines = [header, "-" * len(header)]
    notes = []
    for r in results:
        reports = _mode_reports(r, modes)
        ratios = " ".join(f"{_ratio(report['ratio']):>{max(7, len(label))}} {_spread(report.get('round_ratios')):>11}"
                          for report, label in zip(reports, ratio_labels))
        mark = "  MISMATCH" if r["mismatch"] else ""
        times = " ".join(f"{_ms(report['retrograd_median_s']):>12}" for report in reports)
        lines.append(f"{r['workload']:<15} {times} {_ms(r['torch_median_s']):>10} {ratios}  "
                     f"{_loss(r['retrograd_final_loss']):>14} {_loss(r['torch_final_loss']):>12}{mark}")
        notes.extend(_notes(r, modes))
    if results:
        r = results[0]
        notes.append(f"medians over {max(x['rounds'] for x in results)} rounds of per-round median step times; "
                     f"ratio = median of per-round ratios retrograd/torch, rounds = their lowest and highest "
                     f"(the machine's noise); {r['threads']} threads, {r['dtype']}")
        if len(modes) > 1:
            notes.append(f"kernels = retrograd with its compiled kernels ({kernel_switch.ENV_VAR}=numba, the fast "
                         f"extra), numpy = NumPy only ({kernel_switch.ENV_VAR}=numpy), timed in turn in each round")
    return "\n".join(lines + notes)


def _notes(r, modes):
    """The lines under the table for one workload: kernels run, error, loss mismatch, the GEMM floor."""
    notes = []
    if r.get("kernels"):
        notes.append(f"{r['workload']}: kernels {r['kernels']}")
    if r["error"]:
        notes.append(f"{r['workload']}: {r['error']}")
    for mode, report in (r.get("modes") or {None: r}).items():
        if report["mismatch"]:
            which = f" ({MODE_LABELS[mode]})" if len(r.get("modes") or ()) > 1 else ""
            notes.append(f"{r['workload']}{which}: final losses differ by {report['loss_rel_diff']:.2e} relative "
                         f"(> {r['mismatch_rtol']:g} for {r['dtype']})")
    if r.get("ratio_to_gemm_floor"):
        by_mode = r.get("modes") or {}
        if len(by_mode) > 1:
            floors = ", ".join(f"{report['ratio_to_gemm_floor']:.2f}x {MODE_WORDS[mode]}"
                               for mode, report in by_mode.items() if report.get("ratio_to_gemm_floor"))
            floors = floors.replace(" ", " its GEMMs alone ", 1)  # '1.3x its GEMMs alone with kernels, 1.5x NumPy only'
        else:
            floors = f"{r['ratio_to_gemm_floor']:.2f}x its GEMMs alone"
        torch_part = (f", PyTorch's {r['torch_ratio_to_gemm_floor']:.2f}x"
                      if r.get("torch_ratio_to_gemm_floor") else "")
        notes.append(f"{r['workload']}: retrograd's step takes {floors} ({FLOOR}, numpy){torch_part}")
    return notes


def format_json(results):
    """One JSON object per workload per line."""
    return "\n".join(json.dumps(result) for result in results)
