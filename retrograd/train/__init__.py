"""retrograd.train: the training loop, callbacks, checkpoints (and, for sequences, truncated BPTT)."""
from .callbacks import EarlyStopping, ModelCheckpoint  # noqa: F401
from .checkpoint import load_checkpoint, save_checkpoint  # noqa: F401
from .history import History  # noqa: F401
from .loop import StopTraining, Trainer, accuracy, evaluate, fit  # noqa: F401
from .tbptt import TBPTTResult, detach_state, tbptt  # noqa: F401,E402
