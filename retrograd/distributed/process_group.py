"""The default process group: `init_process_group(backend="mpi")` and the queries on it.

torch.distributed's names and errors, over MPI's world communicator (rank and world size come from
`mpiexec`, not from arguments). A process group also guards against the two ways data-parallel training
hangs: every collective waits at most `timeout` (`collectives.py`), and an exception nobody catches on one
rank ends every rank (`MPI_Abort`) instead of leaving the others waiting in their next collective.
"""
import atexit
import datetime
import sys
import time

from .mpi import mpi

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)  # PyTorch's default_pg_timeout
NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."


class ProcessGroup:
    """A communicator with its rank, size and collective timeout (PyTorch's ProcessGroup, for MPI)."""

    def __init__(self, comm, timeout):
        self.comm = comm
        self.timeout = timeout
        self.broken = False  # a collective timed out: its request is still pending, MPI_Finalize would hang

    def rank(self):
        return self.comm.Get_rank()

    def size(self):
        return self.comm.Get_size()

    def abort(self, status=1):
        """End every process of the group now (MPI_Abort): the way out when a rank cannot continue."""
        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(0.2)  # the launcher forwards what was written before it kills the ranks (else it may drop it)
        self.comm.Abort(status)

    def __repr__(self):
        return f"ProcessGroup(backend='mpi', rank={self.rank()}, size={self.size()})"


_default = None
_previous_excepthook = [sys.excepthook]  # what an uncaught exception ran before init_process_group
_atexit_registered = False


class group:  # noqa: N801  (torch.distributed.group.WORLD: the default group's name)
    WORLD = None


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Make MPI's world the default process group (PyTorch's signature; only backend "mpi" exists here).

    `timeout` (a datetime.timedelta, default 30 minutes) bounds every collective. `world_size` and `rank`
    may be given but must be what `mpiexec` says. From here on, an uncaught exception on any rank aborts
    all ranks (as `python -m mpi4py` does)."""
    if backend not in (None, "mpi"):
        raise ValueError(f"init_process_group: backend {backend!r} is not available in retrograd; the only "
                         f"backend is 'mpi' (launch with mpiexec -n N)")
    if init_method is not None or store is not None:
        raise ValueError("init_process_group: backend 'mpi' takes no init_method or store: mpiexec starts the "
                         "processes and tells each its rank")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got {timeout!r}")
    if timeout.total_seconds() <= 0:
        raise ValueError(f"init_process_group: timeout must be positive, got {timeout}")
    if _default is not None:
        raise ValueError("trying to initialize the default process group twice!")
    comm = mpi().COMM_WORLD
    for name, given, actual in (("world_size", world_size, comm.Get_size()), ("rank", rank, comm.Get_rank())):
        if given not in (-1, None) and given != actual:
            raise ValueError(f"init_process_group: {name}={given}, but mpiexec started this process with "
                             f"{name}={actual}; leave {name} out with backend 'mpi'")
    _set_default(ProcessGroup(comm, timeout))
    _abort_on_uncaught_exceptions()
    return None


def destroy_process_group(group=None):
    """Forget the default group (MPI itself stays initialised until the process exits); uncaught exceptions
    no longer abort."""
    default_group(group)  # raises when there is none, as PyTorch does
    _set_default(None)
    if sys.excepthook is _abort_after_report:
        sys.excepthook = _previous_excepthook[0]


def _set_default(process_group):
    global _default
    _default = group.WORLD = process_group


def is_available():
    """True: retrograd.distributed exists in every install (MPI itself comes with the distributed extra)."""
    return True


def is_mpi_available():
    """Whether mpi4py imports (the `distributed` extra is installed)."""
    try:
        mpi()
    except ImportError:
        return False
    return True


def is_initialized():
    return _default is not None


def default_group(group=None):
    """The group a collective runs on: the default one (the only one retrograd has)."""
    if _default is None:
        raise ValueError(NOT_INITIALIZED)
    if group is not None and group is not _default:
        raise ValueError(f"retrograd.distributed has only the default group (new_group is not implemented); "
                         f"got {group!r}")
    return _default


def get_rank(group=None):
    return default_group(group).rank()


def get_world_size(group=None):
    return default_group(group).size()


def get_backend(group=None):
    default_group(group)
    return "mpi"


def _abort_on_uncaught_exceptions():
    """An uncaught exception on one rank aborts them all: its traceback first, then MPI_Abort. And a process
    leaving with a timed-out collective still pending aborts instead of hanging in MPI_Finalize."""
    global _atexit_registered
    if sys.excepthook is not _abort_after_report:
        _previous_excepthook[0] = sys.excepthook
        sys.excepthook = _abort_after_report
    if not _atexit_registered:
        _atexit_registered = True
        atexit.register(_abort_if_broken)


def _abort_after_report(kind, value, traceback):
    _previous_excepthook[0](kind, value, traceback)
    if _default is not None and not issubclass(kind, KeyboardInterrupt):
        _default.abort(1)


def _abort_if_broken():
    if _default is not None and _default.broken:
        _default.abort(1)
