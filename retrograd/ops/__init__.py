"""The op families. Each op is one forward function with its VJP and a docstring stating the derivative.

Importing this package also binds the ops to Tensor's methods and operators (`methods.py`)."""
from . import activation, elementwise, indexing, inplace, linalg, reduce, shape  # noqa: F401
from . import methods  # noqa: F401  (last: it binds the modules above to Tensor)
