"""`retrograd.backends.mps`: Apple's Metal backend is not available (retrograd runs on the CPU)."""


def is_available():
    return False


def is_built():
    return False
