"""The op families. Each op is one forward function with its VJP and a docstring stating the derivative."""
from . import activation, elementwise, linalg, reduce, shape  # noqa: F401
