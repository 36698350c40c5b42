"""Keeping freed memory in the process, so that each training step does not page-fault its arrays back in.

A training step allocates the same large arrays every time (im2col columns, activations, gradients) and
frees them all by the end of backward. With glibc's default malloc, allocations past a dynamic threshold
are served from the top of the heap, and once more than twice that threshold is free at the top, `free`
hands the memory back to the kernel (trims). The next step then touches fresh pages: one minor page
fault and one page zeroed by the kernel per 4 KiB. Measured on the LeNet benchmark step (64 MNIST
images): 2,500 faults per step, 5.5 ms of kernel time in a 13 ms step.

So retrograd, at import, fixes the two glibc thresholds with `mallopt`:
- arrays up to MMAP_THRESHOLD come from the heap (larger ones are still mapped and unmapped on their own);
- up to TRIM_THRESHOLD of free memory stays at the top of the heap for the next step.

The price is that a process keeps up to TRIM_THRESHOLD of freed memory instead of returning it, the
trade every caching allocator makes (PyTorch's GPU allocator, jemalloc, tcmalloc). It is process-wide (it also affects other libraries'
allocations), so it can be switched off before import with the environment variable
RETROGRAD_RETAIN_FREED_MEMORY=0. On other C libraries (macOS, musl, Windows) nothing is changed.
"""
import ctypes
import os
import platform

MMAP_THRESHOLD = 32 * 2**20  # glibc's own ceiling for its dynamic threshold on 64-bit systems
TRIM_THRESHOLD = 128 * 2**20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # from glibc's <malloc.h>

retaining_freed_memory = False  # whether the settings above are in force in this process


def retain_freed_memory():
    """Apply the malloc settings described in the module docstring; returns whether they are in force
    (False where the C library is not glibc)."""
    global retaining_freed_memory
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt returns 1 on success; setting either value also turns glibc's dynamic threshold off
    retaining_freed_memory = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                                  and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return retaining_freed_memory


def _apply_at_import():
    if os.environ.get("RETROGRAD_RETAIN_FREED_MEMORY", "1").strip().lower() not in ("0", "false", "no", "off"):
        retain_freed_memory()
