"""Optional compiled kernels for the elementwise parts of the fused ops (the `fast` extra: Numba).

The NumPy code of each op stays the default and the reference. A kernel is the same equations written
as plain scalar loops in a `*_kernels.py` module beside its op (recurrent_kernels.py beside recurrent.py),
plain Python that Numba compiles; the tests hold each kernel to its NumPy twin.

Kernels are on when Numba is importable and the environment variable RETROGRAD_KERNELS is not "numpy";
"numba" asks for them and fails, naming the extra, when Numba is missing. The choice is made once, on
the first call of an op that has a kernel, so `import retrograd` never imports Numba. Each kernel compiles
on its first call for each dtype (`cache=True`: later processes load the machine code from Numba's cache).
"""
import os

import numpy as np

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
ENV_VAR = "RETROGRAD_KERNELS"
CHOICES = ("numba", "numpy")
INSTALL_HINT = 'pip install "retrograd[fast]"'

_enabled = None  # decided by enabled() on first use; the tests switch it through set_enabled
_compiled = {}  # kernel name -> Numba dispatcher
_used = set()  # names of the kernels this process has called


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
    kernels are off or dtype is not one they cover (float32, float64: Numba has no float16 arithmetic)."""
    if np.dtype(dtype) not in DTYPES or not enabled():
        return None
    name = python_kernel.__name__
    if name not in _compiled:
        import numba  # the fast extra; only reached when enabled() found it

        _compiled[name] = numba.njit(cache=True, nogil=True)(python_kernel)
    _used.add(name)
    return _compiled[name]


def report():
    """One line for `retrograd bench`: which kernels this process ran, or why none."""
    if not enabled():
        return f"none (NumPy only: {ENV_VAR}=numpy)" if _numba_importable() else f"none (NumPy only; {INSTALL_HINT})"
    return ", ".join(sorted(_used)) + " (Numba)" if _used else "none called (Numba available)"


def used():
    """Names of the kernels this process has called, sorted."""
    return sorted(_used)
