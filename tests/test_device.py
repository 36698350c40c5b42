"""The device API: PyTorch's device objects, queries and `device=` arguments, against torch 2.13 (CPU build)."""
import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd import nn
from retrograd.device import DeviceUnavailableError, check_device


@pytest.mark.parametrize("args", [("cpu",), ("cpu:0",), ("cpu", 0), ("cuda",), ("cuda:1",), ("cuda", 0), ("mps",),
                                  ("meta",)])
def test_device_objects_print_compare_and_hash_as_torch(args):
    ours, theirs = rg.device(*args), torch.device(*args)
    assert (repr(ours), str(ours), ours.type, ours.index) == (repr(theirs), str(theirs), theirs.type, theirs.index)
    assert ours == rg.device(*args) and hash(ours) == hash(rg.device(*args))
    assert rg.device(ours) == ours
    assert (ours == str(ours)) == (theirs == str(theirs))  # a device never equals a string
    assert (ours == rg.device("cpu")) == (theirs == torch.device("cpu"))


@pytest.mark.parametrize("args", [("foo",), ("cuda:x",), ("cpu:-1",), ("cuda:0:1",), ("cuda", -1), ("cuda:1", 1),
                                  (0,)])
def test_bad_device_names_raise_torchs_errors(args):
    with pytest.raises(RuntimeError) as theirs:
        torch.device(*args)
    with pytest.raises(RuntimeError) as ours:
        rg.device(*args)
    assert str(ours.value).startswith(str(theirs.value).split(" (")[0].rstrip("."))


def test_tensor_device_is_the_cpu_device_object():
    x = rg.tensor([1.0, 2.0])
    assert x.device == rg.device("cpu") and repr(x.device) == repr(torch.tensor([1.0]).device)
    assert x.device.type == "cpu" and x.is_cuda is False
    assert rg.get_default_device() == rg.device("cpu") and repr(rg.get_default_device()) == repr(
        torch.get_default_device())


def test_tensor_to_accepts_torchs_forms():
    data = np.array([1, 2, 3])
    ours, theirs = rg.tensor(data), torch.tensor(data)
    cases = [
        ((rg.device("cpu"), rg.float64), {}, (torch.device("cpu"), torch.float64), {}),
        (("cpu",), {"dtype": rg.float64}, ("cpu",), {"dtype": torch.float64}),
        ((rg.zeros(1, dtype=rg.float16),), {}, (torch.zeros(1, dtype=torch.float16),), {}),
        ((), {"device": "cpu"}, (), {"device": "cpu"}),
        ((rg.float32,), {"copy": True}, (torch.float32,), {"copy": True}),
        (("cpu:0", rg.float32, False, True), {}, ("cpu:0", torch.float32, False, True), {}),
    ]
    for our_args, our_kwargs, their_args, their_kwargs in cases:
        moved, expected = ours.to(*our_args, **our_kwargs), theirs.to(*their_args, **their_kwargs)
        assert moved.dtype == np.dtype(str(expected.dtype).removeprefix("torch."))
        np.testing.assert_array_equal(moved.numpy(), expected.numpy())
    # no change returns the tensor itself, as in PyTorch; copy=True a new one
    assert (ours.to("cpu") is ours, ours.cpu() is ours, ours.to("cpu", copy=True) is ours) == (
        theirs.to("cpu") is theirs, theirs.cpu() is theirs, theirs.to("cpu", copy=True) is theirs)


def test_moving_a_tensor_off_the_cpu_raises_a_clear_error_as_torch_raises():
    x = rg.tensor([1.0])
    for move, torch_move in [(lambda: x.cuda(), lambda: torch.tensor([1.0]).cuda()),
                             (lambda: x.to("cuda"), lambda: torch.tensor([1.0]).to("cuda")),
                             (lambda: x.to(rg.device("cuda", 0)), lambda: torch.tensor([1.0]).to(torch.device("cuda", 0)))]:
        with pytest.raises(AssertionError):  # what CPU-only PyTorch raises
            torch_move()
        with pytest.raises(RuntimeError, match=r"retrograd runs on the CPU only.*device 'cuda"):
            move()
    with pytest.raises(AssertionError):  # DeviceUnavailableError is both, so either `except` catches it
        x.to("cuda:1")
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        x.to("gpu")


def test_every_non_random_factory_takes_device_and_refuses_cuda():
    sample = rg.ones(2, 3)
    factories = {
        "tensor": lambda **kw: rg.tensor([1.0, 2.0], **kw),
        "as_tensor": lambda **kw: rg.as_tensor([1.0, 2.0], **kw),
        "zeros": lambda **kw: rg.zeros(2, 3, **kw),
        "ones": lambda **kw: rg.ones((2, 3), **kw),
        "empty": lambda **kw: rg.empty(2, **kw),
        "full": lambda **kw: rg.full((2, 2), 7.0, **kw),
        "zeros_like": lambda **kw: rg.zeros_like(sample, **kw),
        "ones_like": lambda **kw: rg.ones_like(sample, **kw),
        "full_like": lambda **kw: rg.full_like(sample, 2.0, **kw),
        "empty_like": lambda **kw: rg.empty_like(sample, **kw),
        "arange": lambda **kw: rg.arange(5, **kw),
        "linspace": lambda **kw: rg.linspace(0, 1, 5, **kw),
        "eye": lambda **kw: rg.eye(3, **kw),
        "new_tensor": lambda **kw: sample.new_tensor([1.0], **kw),
        "new_zeros": lambda **kw: sample.new_zeros(2, **kw),
        "new_ones": lambda **kw: sample.new_ones(2, **kw),
        "new_empty": lambda **kw: sample.new_empty(2, **kw),
        "new_full": lambda **kw: sample.new_full((2,), 1.0, **kw),
    }
    for name, make in factories.items():
        for cpu in (None, "cpu", "cpu:0", rg.device("cpu")):
            assert make(device=cpu).device == rg.device("cpu"), name
        for elsewhere in ("cuda", "cuda:0", rg.device("cuda"), "mps"):
            with pytest.raises(DeviceUnavailableError, match=f"(^|\\.){name}: retrograd runs on the CPU only"):
                make(device=elsewhere)
    assert np.array_equal(rg.arange(5, device="cpu").numpy(), torch.arange(5, device="cpu").numpy())
    with pytest.raises(TypeError, match="zeros: device must be"):
        rg.zeros(2, device=3.5)


def test_check_device_is_the_shared_helper():
    assert check_device(None, "randn") == rg.device("cpu") == check_device("cpu", "randn")
    with pytest.raises(DeviceUnavailableError, match="randn: retrograd runs on the CPU only"):
        check_device("cuda", "randn")


def test_module_to_device_and_cpu():
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    weight = model[0].weight
    assert model.to(rg.device("cpu")) is model and model.cpu() is model and model.to("cpu") is model
    assert model.to("cpu", rg.float64) is model and weight.dtype == np.float64 and model[0].weight is weight
    assert model.to(rg.zeros(1, dtype=rg.float32)) is model and weight.dtype == np.float32
    assert model.to(device="cpu", dtype=rg.float64) is model and weight.dtype == np.float64
    for move in (lambda: model.to("cuda"), lambda: model.cuda(), lambda: model.to(rg.device("cuda"), rg.float32)):
        with pytest.raises(DeviceUnavailableError, match="Sequential.(to|cuda): retrograd runs on the CPU only"):
            move()
    assert weight.dtype == np.float64  # nothing changed on error


def test_accelerator_queries_answer_as_cpu_only_torch():
    assert rg.cuda.is_available() is torch.cuda.is_available() is False
    assert rg.cuda.device_count() == torch.cuda.device_count() == 0
    assert rg.accelerator.is_available() is torch.accelerator.is_available() is False
    assert rg.backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert rg.accelerator.current_accelerator() is torch.accelerator.current_accelerator() is None
    backends = [(rg.backends.cudnn.is_available(), torch.backends.cudnn.is_available()),
                (rg.backends.cudnn.version(), torch.backends.cudnn.version()),
                (rg.backends.cudnn.allow_tf32, torch.backends.cudnn.allow_tf32),
                (rg.backends.cuda.matmul.allow_tf32, torch.backends.cuda.matmul.allow_tf32),
                (rg.backends.cuda.is_built(), torch.backends.cuda.is_built()),
                (rg.backends.mps.is_built(), torch.backends.mps.is_built())]
    assert [ours for ours, _ in backends] == [theirs for _, theirs in backends]
    rg.cuda.manual_seed(0)
    rg.cuda.manual_seed_all(0)
    torch.cuda.manual_seed_all(0)


def test_cudnn_flags_are_settable_with_no_effect():
    cudnn = rg.backends.cudnn
    defaults = (cudnn.enabled, cudnn.benchmark, cudnn.deterministic)
    assert defaults == (torch.backends.cudnn.enabled, torch.backends.cudnn.benchmark,
                        torch.backends.cudnn.deterministic)
    x = rg.tensor(np.arange(6.0).reshape(2, 3))
    before = (x @ x.T).numpy().copy()
    try:
        cudnn.benchmark, cudnn.deterministic, cudnn.enabled = True, True, False
        rg.backends.cuda.matmul.allow_tf32 = True
        assert (cudnn.benchmark, cudnn.deterministic, cudnn.enabled) == (True, True, False)
        np.testing.assert_array_equal((x @ x.T).numpy(), before)
    finally:
        cudnn.enabled, cudnn.benchmark, cudnn.deterministic = defaults
        rg.backends.cuda.matmul.allow_tf32 = False


def test_set_default_device_accepts_only_the_cpu():
    rg.set_default_device("cpu")
    rg.set_default_device(None)
    rg.set_default_device(rg.device("cpu"))
    assert rg.zeros(2).device == rg.get_default_device() == rg.device("cpu")
    with pytest.raises(DeviceUnavailableError, match="set_default_device: retrograd runs on the CPU only"):
        rg.set_default_device("cuda")
    assert rg.get_default_device() == rg.device("cpu")


def test_the_usual_script_preamble_runs():
    device = rg.device("cuda" if rg.cuda.is_available() else "cpu")
    model = nn.Linear(4, 2).to(device)
    x = rg.randn(3, 4).to(device)
    out = model(x).sum()
    out.backward()
    assert out.device == device and model.weight.grad.device == device


def test_device_as_a_context_manager():
    with rg.device("cpu") as cpu, torch.device("cpu") as torch_cpu:
        assert rg.zeros(1).device == cpu and str(cpu) == str(torch_cpu)
    with pytest.raises(DeviceUnavailableError, match=r"with device\(...\): retrograd runs on the CPU only"):
        with rg.device("cuda"):
            pass


def test_cuda_queries_answer_or_raise_as_cpu_only_torch():
    for name in ("empty_cache", "is_initialized", "memory_allocated", "max_memory_allocated", "seed", "seed_all"):
        assert getattr(rg.cuda, name)() == getattr(torch.cuda, name)(), name
    for name in ("synchronize", "current_device", "get_device_name"):
        with pytest.raises(AssertionError):
            getattr(torch.cuda, name)()
        with pytest.raises(DeviceUnavailableError, match=f"cuda.{name}: retrograd runs on the CPU only"):
            getattr(rg.cuda, name)()


@pytest.mark.parametrize("make", [
    lambda device: rg.nn.Linear(3, 2, device=device),
    lambda device: rg.nn.BatchNorm1d(3, device=device),
    lambda device: rg.nn.LayerNorm(3, device=device),
    lambda device: rg.nn.LSTM(3, 4, device=device),
    lambda device: rg.nn.GRUCell(3, 4, device=device),
    lambda device: rg.nn.Embedding(5, 3, device=device),
], ids=["Linear", "BatchNorm1d", "LayerNorm", "LSTM", "GRUCell", "Embedding"])
def test_layers_take_the_cpu_and_refuse_another_device_by_name(make):
    assert make("cpu") is not None and make(rg.device("cpu")) is not None
    with pytest.raises(RuntimeError, match=r"retrograd runs on the CPU only.*'cuda'"):
        make("cuda")


def test_xpu_queries_answer_or_raise_as_cpu_only_torch():
    # mnist_forward_forward picks its device with torch.xpu.is_available() beside cuda and mps
    assert rg.xpu.is_available() is torch.xpu.is_available() is False
    for name in ("device_count", "is_initialized", "empty_cache"):
        assert getattr(rg.xpu, name)() == getattr(torch.xpu, name)(), name
    rg.xpu.manual_seed(0)
    rg.xpu.manual_seed_all(0)
    for name in ("synchronize", "current_device", "get_device_name"):
        with pytest.raises(AssertionError):
            getattr(torch.xpu, name)()
        with pytest.raises(DeviceUnavailableError, match=f"xpu.{name}: retrograd runs on the CPU only"):
            getattr(rg.xpu, name)()
