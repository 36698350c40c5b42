"""Optional compiled kernels for the elementwise parts of the fused ops (the `fast` extra: Numba).

The NumPy code of each op stays the default and the reference. A kernel is the same equations written
as plain scalar loops in a `*_kernels.py` module beside its op (recurrent_kernels.py beside recurrent.py),
plain Python that Numba compiles; the tests hold each kernel to its NumPy twin.

Kernels are on when Numba is importable and the environment variable RETROGRAD_KERNELS is not "numpy";
"numba" asks for them and fails, naming the extra, when Numba is missing. The choice is made once, on
the first call of an op that has a kernel, so `import retrograd` never imports Numba. Each kernel compiles
on its first call for each dtype (`cache=True`: later processes load the machine code from Numba's cache).

Kernels compile with NumPy's error model: a float division by zero gives inf or NaN, as in the NumPy
reference, where Numba's default (Python's model) raises ZeroDivisionError. Python's model also keeps a loop
with a division or a sqrt from running vectorised: Adam's update measured 650 against 52 us.
"""
import functools
import inspect
import os

import numpy as np

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
ENV_VAR = "RETROGRAD_KERNELS"
CHOICES = ("numba", "numpy")
INSTALL_HINT = 'pip install "retrograd[fast]"'
ERROR_MODEL = "numpy"  # division by zero: inf or NaN as in NumPy, not Python's ZeroDivisionError (see above)

_enabled = None  # decided by enabled() on first use; the tests switch it through set_enabled
_compiled = {}  # kernel name -> Numba dispatcher
_helpers = []  # functions that kernels call (see helper()), not yet registered with Numba
_used = set()  # names of the kernels this process has called
_specialised = {}  # (kernel name, *window geometry) -> Numba dispatcher with the geometry compiled in
_geometry_work = {}  # (kernel name, *window geometry) -> window entries visited, until it is specialised


def _numba_importable():
    try:
        import numba  # noqa: F401  (the fast extra)
    except ImportError:
        return False
    return True


def _decide():
    choice = os.environ.get(ENV_VAR, "").strip().lower()
    if choice not in ("",) + CHOICES:
        raise ValueError(f"{ENV_VAR}={os.environ[ENV_VAR]!r}: expected one of {', '.join(CHOICES)} (or unset)")
    if choice == "numpy":
        return False
    if _numba_importable():
        return True
    if choice == "numba":
        raise ImportError(f"{ENV_VAR}=numba needs Numba: {INSTALL_HINT}")
    return False


def enabled():
    """Whether the fused ops run their compiled kernels (decided once per process, on first use)."""
    global _enabled
    if _enabled is None:
        _enabled = _decide()
    return _enabled


def set_enabled(flag):
    """Switch the kernels on or off for this process (the tests run both modes); returns the previous state.
    None makes the next call decide again from the environment."""
    global _enabled
    previous = _enabled
    if flag and not _numba_importable():
        raise ImportError(f"compiled kernels need Numba: {INSTALL_HINT}")
    _enabled = None if flag is None else bool(flag)
    return previous


def compiled(python_kernel, dtype):
    """The Numba-compiled `python_kernel` for arrays of `dtype`, or None (the caller runs its NumPy code) when the
    kernels are off or dtype is not one they cover (float32, float64: Numba has no float16 arithmetic). A kernel
    marked with fused_multiply_add compiles with LLVM's 'contract' (see there)."""
    if np.dtype(dtype) not in DTYPES or not enabled():
        return None
    name = python_kernel.__name__
    if name not in _compiled:
        import numba  # the fast extra; only reached when enabled() found it
        from numba.extending import register_jitable

        while _helpers:  # before any kernel that calls them compiles
            register_jitable(error_model=ERROR_MODEL)(_helpers.pop())
        contract = getattr(python_kernel, "fused_multiply_add", False)
        _compiled[name] = numba.njit(cache=True, nogil=True, error_model=ERROR_MODEL,
                                     fastmath={"contract"} if contract else False)(python_kernel)
    _used.add(name)
    return _compiled[name]


def helper(python_function):
    """Marks a plain-Python function that kernels call (a kernel can call only compiled code): compiled()
    registers it with Numba (register_jitable) before it compiles a kernel, so that kernels can call it. Returns the
    function unchanged: importing its module does not import Numba. Numba's cache checks only a kernel's own source
    file: after editing a helper, touch the modules of the kernels that call it (or delete their __pycache__)."""
    _helpers.append(python_function)
    return python_function


def fused_multiply_add(python_kernel):
    """Marks `python_kernel` to compile with fused multiply-adds (LLVM's 'contract': a multiply and the add that takes
    its product become one FMA, one rounding instead of two): about 25% faster for gelu's float64 rational function
    and exp, for a kernel whose tests bound its results rather than match NumPy's bits there (gelu_kernels.py). The
    mark is on the kernel, not on a call, because Numba's disk cache does not tell the two compilations apart."""
    python_kernel.fused_multiply_add = True
    return python_kernel


SPECIALISE_AFTER = 2**18  # window entries a kernel visits with one geometry before it is compiled for it


def compiled_for(python_kernel, dtype, geometry, work):
    """`compiled` for a window kernel, python_kernel(*arrays, kh, kw, s_h, s_w, d_h, d_w), as a function of the
    arguments before the geometry, or None when the kernels are off or dtype is not covered. `work`: the
    window entries this call visits (windows x kh*kw).

    With the geometry a run-time argument Numba cannot unroll the window loops or vectorise across a row of
    windows (the kernel then runs slower than the NumPy code); with it compiled in, about 3-5x faster than
    NumPy, but each geometry costs a compilation, 0.2-0.5 s once per process (not cached on disk: the closure
    holds a dispatcher, whose pickle differs between processes). So a geometry runs the general kernel
    (compiled once, cached on disk) until its calls have visited SPECIALISE_AFTER entries, then its own:
    a LeNet step's layers specialise in the first step, a test suite of many small geometries never does."""
    kernel = compiled(python_kernel, dtype)
    if kernel is None:
        return None
    key = (python_kernel.__name__, *geometry)
    if key not in _specialised:
        _geometry_work[key] = _geometry_work.get(key, 0) + work
        if _geometry_work[key] < SPECIALISE_AFTER:
            return functools.partial(_with_geometry, kernel, tuple(geometry))
        import numba  # the fast extra; only reached when enabled() found it

        arity = len(inspect.signature(python_kernel).parameters) - len(geometry)
        _specialised[key] = numba.njit(nogil=True, error_model=ERROR_MODEL)(_bind_geometry(kernel, arity, *geometry))
    return _specialised[key]


def _with_geometry(kernel, geometry, *arrays):
    return kernel(*arrays, *geometry)


def _bind_geometry(kernel, arity, kh, kw, sh, sw, dh, dw):
    """kernel(*arrays, kh, kw, sh, sw, dh, dw) as a function of its `arity` other arguments, the geometry a
    constant of the closure: Numba inlines the compiled kernel and folds the constants into its loops."""
    if arity == 2:
        def bound(a, b):
            return kernel(a, b, kh, kw, sh, sw, dh, dw)
    elif arity == 3:
        def bound(a, b, c):
            return kernel(a, b, c, kh, kw, sh, sw, dh, dw)
    elif arity == 4:
        def bound(a, b, c, d):
            return kernel(a, b, c, d, kh, kw, sh, sw, dh, dw)
    elif arity == 5:
        def bound(a, b, c, d, e):
            return kernel(a, b, c, d, e, kh, kw, sh, sw, dh, dw)
    else:
        raise ValueError(f"compiled_for: a window kernel takes 2 to 5 arguments before its geometry, got {arity}")
    return bound


def report():
    """One line for `retrograd bench`: which kernels this process ran, or why none."""
    if not enabled():
        return f"none (NumPy only: {ENV_VAR}=numpy)" if _numba_importable() else f"none (NumPy only; {INSTALL_HINT})"
    return ", ".join(sorted(_used)) + " (Numba)" if _used else "none called (Numba available)"


def used():
    """Names of the kernels this process has called, sorted."""
    return sorted(_used)
