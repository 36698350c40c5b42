"""Keeping freed memory in the process, so that each training step does not page-fault its arrays back in.

A training step allocates the same large arrays every time (im2col columns, activations, gradients) and
frees them all by the end of backward. With glibc's default malloc, allocations past a dynamic threshold
are served from the top of the heap, and once more than twice that threshold is free at the top, `free`
hands the memory back to the kernel (trims). The next step then touches fresh pages: one minor page
fault and one page zeroed by the kernel per 4 KiB. Measured on the LeNet benchmark step (64 MNIST
images): 2,500 faults per step, 5.5 ms of kernel time in a 13 ms step.

So, where training starts (`retrograd.train.fit` and `tbptt`, the jobs behind the `retrograd`
command, the benchmark workloads), retrograd fixes the two glibc thresholds with `mallopt`:
- arrays up to MMAP_THRESHOLD come from the heap (larger ones are still mapped and unmapped on their own);
- up to TRIM_THRESHOLD of free memory stays at the top of the heap for the next step.

The price is that a process keeps up to TRIM_THRESHOLD of freed memory instead of returning it, the
trade every caching allocator makes (PyTorch's GPU allocator, jemalloc, tcmalloc). It is process-wide (it
also affects other libraries' allocations), so `import retrograd` alone never does it, and there are two
switches:
- `retain_freed_memory(False)` (or True) at any time: an explicit choice that training then keeps;
- the environment variable RETROGRAD_RETAIN_FREED_MEMORY=0, read when training starts: it stays off.
Switching it off after it was on restores glibc's default values (128 KiB each) and trims the heap;
glibc's dynamic threshold, which any mallopt call turns off, does not come back. On other C libraries
(macOS, musl, Windows) nothing is changed.
"""
import ctypes
import os
import platform

MMAP_THRESHOLD = 32 * 2**20  # glibc's own ceiling for its dynamic threshold on 64-bit systems
TRIM_THRESHOLD = 128 * 2**20
GLIBC_DEFAULT_THRESHOLD = 128 * 2**10  # both thresholds' default values (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # from glibc's <malloc.h>
ENVIRONMENT_VARIABLE = "RETROGRAD_RETAIN_FREED_MEMORY"

retaining_freed_memory = False  # whether the settings above are in force in this process
_chosen = None  # True/False once retain_freed_memory() was called: training then leaves the choice alone


def retain_freed_memory(enabled=True):
    """Turn the malloc settings of the module docstring on (or, with False, back off) for this process;
    returns whether they are in force (always False where the C library is not glibc)."""
    global _chosen
    _chosen = bool(enabled)
    return _set(_chosen)


def retain_for_training():
    """What training code calls before its first step: the settings on, unless retain_freed_memory(False)
    was called or RETROGRAD_RETAIN_FREED_MEMORY is 0/false/no/off. Cheap when there is nothing to do."""
    if retaining_freed_memory or _chosen is False:
        return retaining_freed_memory
    if _chosen is None and os.environ.get(ENVIRONMENT_VARIABLE, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return _set(True)


def _set(enabled):
    global retaining_freed_memory
    if enabled == retaining_freed_memory:
        return retaining_freed_memory
    libc = _glibc()
    if libc is None:
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    mmap_threshold, trim_threshold = ((MMAP_THRESHOLD, TRIM_THRESHOLD) if enabled
                                      else (GLIBC_DEFAULT_THRESHOLD, GLIBC_DEFAULT_THRESHOLD))
    # mallopt returns 1 on success; setting either value also turns glibc's dynamic threshold off
    applied = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold) and mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    if not enabled:
        libc.malloc_trim(0)  # hand back what the settings kept, now rather than at the next free
    retaining_freed_memory = applied and enabled
    return retaining_freed_memory


def _glibc():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    libc = ctypes.CDLL(None)
    return libc if hasattr(libc, "mallopt") else None
