import os
import sys

# tests import their shared machinery as `helpers`
sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", max_examples=25, deadline=None)
settings.load_profile("ci")


@pytest.fixture(params=["numba", "numpy"])
def mode(request):
    """Runs a test with the compiled kernels on, then with NumPy only; restores the process's choice."""
    from retrograd.ops import kernels

    previous = kernels.set_enabled(request.param == "numba")
    yield request.param
    kernels.set_enabled(previous)
