"""MPI, imported only when a process group is made: `import retrograd` never imports mpi4py.

`mpi4py` with the `mpich` wheel (`pip install "retrograd[distributed]"`) brings MPI itself, so no system
package is needed; `mpiexec -n N python script.py` (the `mpiexec` installed next to `python`) starts N
processes. `launched_world_size()` reads the launcher's environment without importing MPI, so a program
can tell whether it was started under `mpiexec -n N` with N > 1 before it decides to use MPI at all.
"""
import importlib
import os

EXTRA_HINT = 'pip install "retrograd[distributed]"'

# what launchers put in each process's environment: MPICH's and Intel MPI's Hydra (PMI_SIZE), Open MPI,
# MVAPICH, PMIx
WORLD_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE")


def mpi():
    """The `mpi4py.MPI` module (importing it initialises MPI), or ImportError naming the extra to install."""
    try:
        return importlib.import_module("mpi4py.MPI")
    except ImportError as error:
        raise ImportError(f"retrograd.distributed needs mpi4py and an MPI library ({error}); install them with "
                          f"{EXTRA_HINT} (the mpich wheel brings MPI and mpiexec, no system package needed)") from None


def launched_world_size(environ=None):
    """How many processes the MPI launcher started (1 when not started by one), from the environment."""
    environ = os.environ if environ is None else environ
    for name in WORLD_SIZE_VARIABLES:
        value = environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1
