"""Autograd: the tape, grad modes, anomaly detection, custom Functions and gradient checking."""
from .anomaly import detect_anomaly, set_detect_anomaly  # noqa: F401
from .function import Function, FunctionCtx  # noqa: F401
from .functional import backward, grad  # noqa: F401
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .gradcheck import GradcheckError, GradcheckReport, gradcheck, gradcheck_model  # noqa: F401
