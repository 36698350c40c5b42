"""`retrograd.onnx`: the import path PyTorch scripts use (`import torch.onnx`), without an exporter.

Scripts such as pytorch/examples' word_language_model import torch.onnx at the top and export only on
request; the import works here, `is_in_onnx_export()` answers False as PyTorch does outside an export,
and `export` refuses by name: retrograd records no traceable graph to write as ONNX."""

__all__ = ["export", "is_in_onnx_export"]


def is_in_onnx_export():
    """False: retrograd never runs a model inside an ONNX export."""
    return False


def export(model, args=(), f=None, *more, **options):
    raise NotImplementedError(
        f"onnx.export: retrograd cannot export {type(model).__name__} to ONNX (it records no traceable graph); "
        f"load its state_dict into the same PyTorch model and export that with torch.onnx.export")
