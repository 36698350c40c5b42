"""save/load on file objects and PyTorch's load arguments, side by side with torch.save/torch.load."""
import io

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd import nn
from retrograd.serialization import CheckpointError


def _state(lib):
    lib.manual_seed(0)
    model = lib.nn.Linear(3, 2).double()
    return {"model": model.state_dict(), "epoch": 4, "lr": 0.5}


def _assert_same_state(ours, theirs):
    assert list(ours) == list(theirs) and ours["epoch"] == theirs["epoch"] and ours["lr"] == theirs["lr"]
    assert list(ours["model"]) == list(theirs["model"])
    for name, value in theirs["model"].items():
        assert ours["model"][name].dtype == np.float64
        np.testing.assert_array_equal(ours["model"][name].numpy(), torch.tensor(value).numpy()
                                      if not isinstance(value, torch.Tensor) else value.numpy())


def _copy_of_torch_state():
    """A retrograd state holding exactly the numbers of torch's, so that both libraries save the same."""
    theirs = _state(torch)
    ours = {"model": {k: rg.tensor(v.numpy()) for k, v in theirs["model"].items()}, "epoch": 4, "lr": 0.5}
    return ours, theirs


@pytest.mark.parametrize("fmt", ["safetensors", "npz"])
def test_bytesio_round_trip_as_torch(fmt):
    ours, theirs = _copy_of_torch_state()
    our_buffer, their_buffer = io.BytesIO(), io.BytesIO()
    rg.save(ours, our_buffer, format=fmt)
    torch.save(theirs, their_buffer)
    our_buffer.seek(0)
    their_buffer.seek(0)
    _assert_same_state(rg.load(our_buffer), torch.load(their_buffer))


def test_open_files_in_binary_mode_round_trip(tmp_path):
    ours, theirs = _copy_of_torch_state()
    with open(tmp_path / "ours.ckpt", "wb") as fh:
        rg.save(ours, fh)
    with open(tmp_path / "ours.ckpt", "rb") as fh:
        loaded = rg.load(fh, map_location="cpu", weights_only=True)
    _assert_same_state(loaded, theirs)
    model = nn.Linear(3, 2).double()
    model.load_state_dict(loaded["model"])
    np.testing.assert_array_equal(model.weight.detach().numpy(), theirs["model"]["weight"].numpy())


def test_file_objects_are_read_and_written_from_their_position():
    buffer = io.BytesIO()
    buffer.write(b"HEADER")
    rg.save({"x": rg.arange(3)}, buffer)
    assert buffer.getvalue().startswith(b"HEADER")
    buffer.seek(6)
    np.testing.assert_array_equal(rg.load(buffer)["x"].numpy(), [0, 1, 2])


def test_a_text_stream_is_a_clear_error(tmp_path):
    rg.save({"x": rg.ones(2)}, tmp_path / "a.ckpt")
    with open(tmp_path / "a.ckpt", encoding="latin-1") as fh:
        with pytest.raises(TypeError, match="text stream, not bytes: open the file in binary mode"):
            rg.load(fh)


@pytest.mark.parametrize("map_location, their_location", [
    (None, None), ("cpu", "cpu"), (rg.device("cpu"), torch.device("cpu")), ({"cuda:0": "cpu"}, {"cuda:0": "cpu"}),
    ({"cuda:1": rg.device("cpu")}, {"cuda:1": torch.device("cpu")}),
    (lambda storage, location: storage, lambda storage, location: storage)])
def test_cpu_map_locations_are_accepted_as_torch_accepts_them(map_location, their_location):
    ours, theirs = _copy_of_torch_state()
    our_buffer, their_buffer = io.BytesIO(), io.BytesIO()
    rg.save(ours, our_buffer)
    torch.save(theirs, their_buffer)
    our_buffer.seek(0)
    their_buffer.seek(0)
    _assert_same_state(rg.load(our_buffer, map_location=map_location, weights_only=True),
                       torch.load(their_buffer, map_location=their_location, weights_only=True))


def test_cpu_0_is_a_cpu_map_location():
    """(torch.load refuses the string 'cpu:0' -- "don't know how to restore data location" -- though it names
    the CPU; retrograd accepts it with every other spelling of the CPU.)"""
    buffer = io.BytesIO()
    rg.save({"x": rg.ones(1)}, buffer)
    buffer.seek(0)
    assert rg.load(buffer, map_location="cpu:0")["x"].item() == 1.0


def test_weights_only_false_still_never_unpickles(tmp_path):
    buffer = io.BytesIO()
    torch.save({"x": torch.ones(1)}, buffer)
    buffer.seek(0)
    with pytest.raises(CheckpointError, match="never unpickles"):
        rg.load(buffer, weights_only=False)


def test_map_locations_off_the_cpu_or_of_a_wrong_type_raise():
    buffer = io.BytesIO()
    rg.save({"x": rg.ones(1)}, buffer)
    for location in ("cuda", rg.device("cuda", 0), {"cpu": "cuda:0"}):
        buffer.seek(0)
        with pytest.raises(ValueError, match="retrograd.load: retrograd runs on the CPU only; map_location="):
            rg.load(buffer, map_location=location)
    buffer.seek(0)
    with pytest.raises(TypeError, match="map_location must be None, a string, a retrograd.device, a dict or a "
                                        "function, got float"):
        rg.load(buffer, map_location=3.5)
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):  # torch.device's error for a bad name
        rg.load(buffer, map_location="gpu")
    buffer.seek(0)
    assert rg.load(buffer)["x"].item() == 1.0  # nothing was read by the refused calls


def test_safe_globals_is_a_no_op_context_and_add_safe_globals_is_accepted():
    class Config:
        pass

    buffer = io.BytesIO()
    rg.save({"x": rg.ones(1)}, buffer)
    before = rg.serialization.get_safe_globals()
    with rg.serialization.safe_globals([Config]), torch.serialization.safe_globals([Config]):
        assert Config in rg.serialization.get_safe_globals() and Config in torch.serialization.get_safe_globals()
        buffer.seek(0)
        assert rg.load(buffer, weights_only=True)["x"].item() == 1.0
    assert rg.serialization.get_safe_globals() == before
    assert Config not in torch.serialization.get_safe_globals()
    rg.serialization.add_safe_globals([Config])
    try:
        assert Config in rg.serialization.get_safe_globals()
    finally:
        rg.serialization.clear_safe_globals()
