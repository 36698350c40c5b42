"""Bad input gets PyTorch's error, and the edge cases PyTorch accepts work.

Each bad call runs in both libraries: retrograd must raise the exception type PyTorch raises, with a
message naming the op or layer and the faulty argument. Each edge case PyTorch accepts (zero-size
layers and dimensions, an empty batch) must give PyTorch's shapes, values and gradients."""
import types
import warnings

import numpy as np
import pytest
import torch

import retrograd as rg
from retrograd import nn as rnn
from retrograd.nn import functional as RF

TORCH = types.SimpleNamespace(nn=torch.nn, F=torch.nn.functional, long=torch.long, float64=torch.float64,
                              tensor=torch.tensor, zeros=torch.zeros, arange=torch.arange)
RG = types.SimpleNamespace(nn=rnn, F=RF, long=rg.int64, float64=rg.float64, tensor=rg.tensor, zeros=rg.zeros,
                           arange=rg.arange)


def _x(lib, *shape):
    """The same input in both libraries (a fixed pseudo-random array)."""
    values = np.random.default_rng(len(shape)).standard_normal(shape)
    return lib.tensor(values, dtype=lib.float64)


# (id, the call given a library, what retrograd's message must contain: the op or layer and the argument)
BAD_CALLS = [
    ("conv2d stride=0", lambda L: L.F.conv2d(_x(L, 2, 3, 8, 8), _x(L, 4, 3, 3, 3), stride=0), r"conv2d.*stride"),
    ("conv2d stride=-1", lambda L: L.F.conv2d(_x(L, 2, 3, 8, 8), _x(L, 4, 3, 3, 3), stride=-1), r"conv2d.*stride"),
    ("conv2d dilation=0", lambda L: L.F.conv2d(_x(L, 2, 3, 8, 8), _x(L, 4, 3, 3, 3), dilation=0),
     r"conv2d.*dilation"),
    ("conv2d padding=-1", lambda L: L.F.conv2d(_x(L, 2, 3, 8, 8), _x(L, 4, 3, 3, 3), padding=-1),
     r"conv2d.*padding"),
    ("conv2d groups=0", lambda L: L.F.conv2d(_x(L, 2, 3, 8, 8), _x(L, 4, 3, 3, 3), groups=0), r"conv2d.*groups"),
    ("conv2d bias (5,)", lambda L: L.F.conv2d(_x(L, 2, 3, 8, 8), _x(L, 4, 3, 3, 3), _x(L, 5)), r"conv2d.*bias"),
    ("conv2d bias (4, 1)", lambda L: L.F.conv2d(_x(L, 2, 3, 8, 8), _x(L, 4, 3, 3, 3), _x(L, 4, 1)),
     r"conv2d.*bias"),
    ("conv1d stride=0", lambda L: L.F.conv1d(_x(L, 2, 3, 8), _x(L, 4, 3, 3), stride=0), r"conv1d.*stride=\(0,\)"),
    ("conv1d dilation=0", lambda L: L.F.conv1d(_x(L, 2, 3, 8), _x(L, 4, 3, 3), dilation=0), r"conv1d.*dilation"),
    ("conv1d padding=-1", lambda L: L.F.conv1d(_x(L, 2, 3, 8), _x(L, 4, 3, 3), padding=-1), r"conv1d.*padding"),
    ("conv1d bias (5,)", lambda L: L.F.conv1d(_x(L, 2, 3, 8), _x(L, 4, 3, 3), _x(L, 5)),
     r"conv1d.*\[4, 3, 3\].*bias"),
    ("Conv2d stride=0", lambda L: L.nn.Conv2d(3, 4, 3, stride=0).double()(_x(L, 2, 3, 8, 8)), r"conv2d.*stride"),
    ("Conv2d dilation=0", lambda L: L.nn.Conv2d(3, 4, 3, dilation=0).double()(_x(L, 2, 3, 8, 8)),
     r"conv2d.*dilation"),
    ("Conv2d padding=-1", lambda L: L.nn.Conv2d(3, 4, 3, padding=-1).double()(_x(L, 2, 3, 8, 8)),
     r"conv2d.*padding"),
    ("Conv1d stride=0", lambda L: L.nn.Conv1d(3, 4, 3, stride=0).double()(_x(L, 2, 3, 8)), r"conv1d.*stride"),
    ("Conv1d padding=-1", lambda L: L.nn.Conv1d(3, 4, 3, padding=-1).double()(_x(L, 2, 3, 8)), r"conv1d.*padding"),
    ("Conv2d kernel 0 called", lambda L: L.nn.Conv2d(1, 2, 0).double()(_x(L, 1, 1, 4, 4)), r"conv2d.*kernel size"),
    ("Conv2d groups=0", lambda L: L.nn.Conv2d(3, 3, 3, groups=0), r"Conv2d.*groups"),
    ("max_pool2d stride=0", lambda L: L.F.max_pool2d(_x(L, 2, 3, 8, 8), 2, stride=0), r"max_pool2d.*stride"),
    ("max_pool2d stride=-1", lambda L: L.F.max_pool2d(_x(L, 2, 3, 8, 8), 2, stride=-1), r"max_pool2d.*stride"),
    ("max_pool2d kernel 0", lambda L: L.F.max_pool2d(_x(L, 2, 3, 8, 8), 0), r"max_pool2d.*kernel_size"),
    ("max_pool2d padding=-1", lambda L: L.F.max_pool2d(_x(L, 2, 3, 8, 8), 2, padding=-1), r"max_pool2d.*padding"),
    ("max_pool2d dilation=0", lambda L: L.F.max_pool2d(_x(L, 2, 3, 8, 8), 2, dilation=0),
     r"max_pool2d.*dilation"),
    ("max_pool1d stride=0", lambda L: L.F.max_pool1d(_x(L, 2, 3, 8), 2, stride=0), r"max_pool1d.*stride=\(0,\)"),
    ("max_pool1d kernel 0", lambda L: L.F.max_pool1d(_x(L, 2, 3, 8), 0), r"max_pool1d.*kernel_size"),
    ("max_pool1d padding=-1", lambda L: L.F.max_pool1d(_x(L, 2, 3, 8), 2, padding=-1), r"max_pool1d.*padding"),
    ("max_pool1d dilation=0", lambda L: L.F.max_pool1d(_x(L, 2, 3, 8), 2, dilation=0), r"max_pool1d.*dilation"),
    ("avg_pool2d stride=0", lambda L: L.F.avg_pool2d(_x(L, 2, 3, 8, 8), 2, stride=0), r"avg_pool2d.*stride"),
    ("avg_pool2d kernel 0", lambda L: L.F.avg_pool2d(_x(L, 2, 3, 8, 8), 0), r"avg_pool2d.*kernel_size"),
    ("avg_pool2d padding=-1", lambda L: L.F.avg_pool2d(_x(L, 2, 3, 8, 8), 2, padding=-1), r"avg_pool2d.*padding"),
    ("avg_pool2d divisor_override=0", lambda L: L.F.avg_pool2d(_x(L, 2, 3, 8, 8), 2, divisor_override=0),
     r"avg_pool2d.*divisor"),
    ("avg_pool1d stride=0", lambda L: L.F.avg_pool1d(_x(L, 2, 3, 8), 2, stride=0), r"avg_pool1d.*stride"),
    ("avg_pool1d padding=-1", lambda L: L.F.avg_pool1d(_x(L, 2, 3, 8), 2, padding=-1), r"avg_pool1d.*padding"),
    ("MaxPool2d stride=0", lambda L: L.nn.MaxPool2d(2, stride=0)(_x(L, 2, 3, 8, 8)), r"max_pool2d.*stride"),
    ("AvgPool2d stride=0", lambda L: L.nn.AvgPool2d(2, stride=0)(_x(L, 2, 3, 8, 8)), r"avg_pool2d.*stride"),
    ("MaxPool1d padding=-1", lambda L: L.nn.MaxPool1d(2, padding=-1)(_x(L, 2, 3, 8)), r"max_pool1d.*padding"),
    ("adaptive_avg_pool2d -1", lambda L: L.F.adaptive_avg_pool2d(_x(L, 2, 3, 8, 8), -1),
     r"adaptive_avg_pool2d.*output_size"),
    ("one_hot -1", lambda L: L.F.one_hot(L.tensor([-1, 0, 1]), 3), r"one_hot.*non-negative"),
    ("one_hot -1, classes inferred", lambda L: L.F.one_hot(L.tensor([-1, 0])), r"one_hot.*non-negative"),
    ("one_hot 3 of 3 classes", lambda L: L.F.one_hot(L.tensor([3]), 3), r"one_hot.*smaller than num_classes"),
    ("one_hot float", lambda L: L.F.one_hot(L.tensor([1.0, 0.0]), 3), r"one_hot.*index tensor"),
    ("one_hot empty, classes inferred", lambda L: L.F.one_hot(L.tensor([], dtype=L.long)), r"one_hot.*empty"),
    ("RNN int input", lambda L: L.nn.RNN(3, 2)(L.tensor(np.ones((4, 2, 3), np.int64))), r"RNN.*input dtype"),
    ("LSTM int input", lambda L: L.nn.LSTM(3, 2)(L.tensor(np.ones((4, 2, 3), np.int64))), r"LSTM.*input dtype"),
    ("GRU int input", lambda L: L.nn.GRU(3, 2)(L.tensor(np.ones((4, 2, 3), np.int64))), r"GRU.*input dtype"),
    ("LSTM float64 input", lambda L: L.nn.LSTM(3, 2)(_x(L, 4, 2, 3)), r"LSTM.*input dtype"),
    ("LSTM sequence of 0 steps", lambda L: L.nn.LSTM(3, 2).double()(_x(L, 0, 2, 3)), r"LSTM.*sequence length"),
    ("RNNCell int input", lambda L: L.nn.RNNCell(3, 2)(L.tensor(np.ones((2, 3), np.int64))), r"RNNCell.*dtype"),
    ("LSTMCell int input", lambda L: L.nn.LSTMCell(3, 2)(L.tensor(np.ones((2, 3), np.int64))), r"LSTMCell.*dtype"),
    ("GRUCell int input", lambda L: L.nn.GRUCell(3, 2)(L.tensor(np.ones((2, 3), np.int64))), r"GRUCell.*dtype"),
    ("LSTMCell hx a Tensor, not (h, c)", lambda L: L.nn.LSTMCell(3, 2).double()(_x(L, 2, 3), _x(L, 2, 2)),
     r"LSTMCell.*hx.*tuple"),
    ("GRUCell hx batch 3, input batch 2", lambda L: L.nn.GRUCell(3, 2).double()(_x(L, 2, 3), _x(L, 3, 2)),
     r"GRUCell.*batch size"),
    ("RNNCell hx of hidden size 3, not 2", lambda L: L.nn.RNNCell(3, 2).double()(_x(L, 2, 3), _x(L, 2, 3)),
     r"RNNCell.*hidden_size"),
    ("Conv2d padding='same' with stride 2", lambda L: L.nn.Conv2d(3, 4, 3, stride=2, padding="same"),
     r"Conv2d.*padding='same'.*strided"),
    ("BatchNorm1d(-1)", lambda L: L.nn.BatchNorm1d(-1), r"BatchNorm1d.*num_features"),
    ("LayerNorm(-2)", lambda L: L.nn.LayerNorm(-2), r"LayerNorm.*normalized_shape"),
    ("leaky_relu slope 'a'", lambda L: L.F.leaky_relu(_x(L, 3), "a"), r"leaky_relu.*negative_slope"),
    ("Conv2d stride=NaN", lambda L: L.nn.Conv2d(1, 2, 2, stride=float("nan")).double()(_x(L, 1, 1, 4, 4)),
     r"Conv2d.*stride"),
    ("conv2d stride=1.5", lambda L: L.F.conv2d(_x(L, 1, 1, 4, 4), _x(L, 2, 1, 2, 2), stride=1.5), r"conv2d.*stride"),
    ("conv1d stride=1.5", lambda L: L.F.conv1d(_x(L, 1, 1, 4), _x(L, 2, 1, 2), stride=1.5), r"conv1d.*stride"),
    ("max_pool2d kernel_size=2.5", lambda L: L.F.max_pool2d(_x(L, 1, 1, 4, 4), 2.5), r"max_pool2d.*kernel_size"),
    ("max_pool1d kernel_size=2.5", lambda L: L.F.max_pool1d(_x(L, 1, 1, 4), 2.5), r"max_pool1d.*kernel_size"),
    ("Linear int input", lambda L: L.nn.Linear(3, 2)(L.tensor(np.ones((2, 3), np.int64))), r"Linear.*dtype"),
    ("Linear bool input", lambda L: L.nn.Linear(3, 2)(L.tensor(np.ones((2, 3), bool))), r"Linear.*dtype"),
    ("Conv2d int input", lambda L: L.nn.Conv2d(1, 2, 2)(L.tensor(np.ones((1, 1, 4, 4), np.int64))),
     r"Conv2d.*dtype"),
    ("LayerNorm int input", lambda L: L.nn.LayerNorm(3)(L.tensor(np.ones((2, 3), np.int64))), r"LayerNorm.*dtype"),
    ("BatchNorm1d int input", lambda L: L.nn.BatchNorm1d(3)(L.tensor(np.ones((2, 3), np.int64))),
     r"BatchNorm1d.*dtype"),
    ("LSTM(0, 2)", lambda L: L.nn.LSTM(0, 2), r"LSTM.*input_size"),
    ("Linear given a list", lambda L: L.nn.Linear(3, 2)([1.0, 2.0, 3.0]), r"Linear.*Tensor.*list"),
    ("Conv2d given a list", lambda L: L.nn.Conv2d(1, 2, 3)([[1.0]]), r"Conv2d.*Tensor.*list"),
    ("ReLU given a list", lambda L: L.nn.ReLU()([1.0, 2.0]), r"ReLU.*Tensor.*list"),
    ("Sigmoid given a list", lambda L: L.nn.Sigmoid()([1.0, 2.0]), r"Sigmoid.*Tensor.*list"),
    ("MaxPool2d given a list", lambda L: L.nn.MaxPool2d(2)([[[[0.0, 1.0]]]]), r"MaxPool2d.*Tensor.*list"),
    ("Embedding given a list", lambda L: L.nn.Embedding(3, 2)([0, 1]), r"Embedding.*Tensor.*list"),
    ("Dropout given a list", lambda L: L.nn.Dropout()([0.0, 1.0]), r"Dropout.*Tensor.*list"),
    ("LayerNorm given a list", lambda L: L.nn.LayerNorm(2)([[0.0, 1.0]]), r"LayerNorm.*Tensor.*list"),
    ("CrossEntropyLoss given lists", lambda L: L.nn.CrossEntropyLoss()([[0.0, 1.0]], [1]),
     r"CrossEntropyLoss.*Tensor.*list"),
    ("Sequential given a list", lambda L: L.nn.Sequential(L.nn.Linear(2, 2))([0.0, 1.0]), r"Linear.*Tensor"),
    # integer and bool inputs that NumPy would quietly promote and PyTorch refuses
    ("mse_loss int", lambda L: L.F.mse_loss(L.tensor([1, 2]), L.tensor([1, 3])), r"mse_loss.*int64"),
    ("l1_loss int mean", lambda L: L.F.l1_loss(L.tensor([1, 2]), L.tensor([1, 3])), r"l1_loss.*int64"),
    ("huber_loss int", lambda L: L.F.huber_loss(L.tensor([1, 2]), L.tensor([1, 3])), r"huber_loss.*int64"),
    ("cross_entropy int", lambda L: L.F.cross_entropy(L.tensor([[1, 2]]), L.tensor([0])), r"cross_entropy.*int64"),
    ("nll_loss int", lambda L: L.F.nll_loss(L.tensor([[1, 2]]), L.tensor([0])), r"nll_loss.*int64"),
    ("binary_cross_entropy int", lambda L: L.F.binary_cross_entropy(L.tensor([1, 0]), L.tensor([1, 0])),
     r"binary_cross_entropy.*int64"),
    ("bce_with_logits int", lambda L: L.F.binary_cross_entropy_with_logits(L.tensor([1, 2]), L.tensor([1, 0])),
     r"binary_cross_entropy_with_logits.*int64"),
    ("kl_div int", lambda L: L.F.kl_div(L.tensor([1, 2]), L.tensor([1, 3]), reduction="sum"), r"kl_div.*int64"),
    ("relu bool", lambda L: L.F.relu(L.tensor([True, False])), r"relu.*Boolean"),
    ("dropout int", lambda L: L.F.dropout(L.tensor([1, 2]), 0.5), r"dropout.*int64"),
    ("arange step 0", lambda L: L.arange(0, 5, 0), r"arange.*step must be nonzero"),
    ("BatchNorm1d(0) called", lambda L: L.nn.BatchNorm1d(0)(L.zeros(3, 0)), r"BatchNorm1d\(0\).*no features"),
]


@pytest.mark.parametrize("call, names", [case[1:] for case in BAD_CALLS], ids=[case[0] for case in BAD_CALLS])
def test_bad_call_raises_pytorchs_error_naming_the_argument(call, names):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as torch_error:
            call(TORCH)
        with pytest.raises(torch_error.type, match=names):
            call(RG)


def test_one_hot_no_longer_wraps_negative_classes():
    """[-1] used to become the last class silently."""
    with pytest.raises(RuntimeError, match="non-negative"):
        RF.one_hot(rg.tensor([-1, 2]), 3)
    assert RF.one_hot(rg.tensor([0, 2]), 3).tolist() == [[1, 0, 0], [0, 0, 1]]


@pytest.mark.parametrize("build", [lambda nn: nn.Linear(0, 3), lambda nn: nn.Conv2d(1, 2, 0),
                                   lambda nn: nn.Conv2d(0, 2, 3), lambda nn: nn.Conv1d(2, 4, 0)],
                         ids=["Linear(0, 3)", "Conv2d(1, 2, 0)", "Conv2d(0, 2, 3)", "Conv1d(2, 4, 0)"])
def test_zero_size_layers_build_with_pytorchs_warning(build):
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        layer = build(rnn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = build(torch.nn)
    assert [tuple(p.shape) for p in layer.parameters()] == [tuple(p.shape) for p in reference.parameters()]


def _run(lib, forward, *shapes):
    """forward(lib, inputs) -> output (or tuple); returns the outputs, the inputs' gradients and the
    parameters' gradients after backward of a fixed random projection of every output."""
    inputs = [_x(lib, *shape).requires_grad_() for shape in shapes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module, outputs = forward(lib, *inputs)
    flat = []
    for out in outputs if isinstance(outputs, tuple) else (outputs,):
        flat += list(out) if isinstance(out, tuple) else [out]
    loss = sum((out * _x(lib, *out.shape)).sum() for out in flat)
    params = list(module.parameters()) if module is not None else []
    if loss.requires_grad:
        loss.backward()
    as_array = lambda t: None if t is None else np.asarray(t.detach().numpy())  # noqa: E731
    return ([as_array(out) for out in flat], [as_array(t.grad) for t in inputs],
            [as_array(p.grad) for p in params])


def _layer(build, *args):
    def forward(lib, *inputs):
        module = build(lib).double()
        return module, module(*inputs, *args)
    return forward


EDGE_CASES = [
    ("log_softmax over a 0-size dim", lambda L, x: (None, L.F.log_softmax(x, dim=1)), [(3, 0)]),
    ("softmax over a 0-size dim", lambda L, x: (None, L.F.softmax(x, dim=1)), [(3, 0)]),
    ("log_softmax along a dim beside a 0-size one", lambda L, x: (None, L.F.log_softmax(x, dim=0)), [(3, 0)]),
    ("LSTM batch 0", _layer(lambda L: L.nn.LSTM(3, 2)), [(4, 0, 3)]),
    ("LSTM batch 0, 2 layers, bidirectional, proj", _layer(lambda L: L.nn.LSTM(3, 4, 2, bidirectional=True,
                                                                                proj_size=2)), [(4, 0, 3)]),
    ("GRU batch 0", _layer(lambda L: L.nn.GRU(3, 2)), [(4, 0, 3)]),
    ("RNN batch 0", _layer(lambda L: L.nn.RNN(3, 2)), [(4, 0, 3)]),
    ("RNN relu batch 0, batch_first", _layer(lambda L: L.nn.RNN(3, 2, nonlinearity="relu", batch_first=True)),
     [(0, 4, 3)]),
    ("LSTMCell batch 0", _layer(lambda L: L.nn.LSTMCell(3, 2)), [(0, 3)]),
    ("GRUCell batch 0", _layer(lambda L: L.nn.GRUCell(3, 2)), [(0, 3)]),
    ("Linear(0, 3) forward", _layer(lambda L: L.nn.Linear(0, 3)), [(2, 0)]),
    ("Linear(3, 0) forward", _layer(lambda L: L.nn.Linear(3, 0)), [(2, 3)]),
    # PyTorch's backward refuses an empty adaptive pool's output: compare the forward only
    ("adaptive_avg_pool2d to 0", lambda L, x: (None, L.F.adaptive_avg_pool2d(x.detach(), 0)), [(2, 3, 4, 4)]),
    ("adaptive_max_pool2d to (0, 2)", lambda L, x: (None, L.F.adaptive_max_pool2d(x.detach(), (0, 2))),
     [(2, 3, 4, 4)]),
]


@pytest.mark.parametrize("forward, shapes", [case[1:] for case in EDGE_CASES], ids=[case[0] for case in EDGE_CASES])
def test_edge_case_pytorch_accepts_gives_its_shapes_values_and_gradients(forward, shapes):
    torch.manual_seed(0)
    expected = _run(TORCH, forward, *shapes)
    rg.manual_seed(0)  # the same initial weights as PyTorch's
    got = _run(RG, forward, *shapes)
    for kind, want_list, got_list in zip(("outputs", "input grads", "parameter grads"), expected, got):
        assert len(got_list) == len(want_list), kind
        for want, have in zip(want_list, got_list):
            if want is None:
                assert have is None or not have.any(), kind
                continue
            assert have is not None and have.shape == want.shape, (kind, None if have is None else have.shape,
                                                                   want.shape)
            np.testing.assert_allclose(have, want, rtol=1e-6, atol=1e-12, err_msg=kind)


def test_one_hot_empty_with_classes():
    assert tuple(RF.one_hot(rg.tensor(np.zeros(0, np.int64)), 3).shape) == (0, 3)


@pytest.mark.parametrize("call, message", [
    (lambda: RF.conv1d(rg.zeros(2, 3, 8), rg.zeros(4, 3, 20)), r"conv1d: kernel \(20,\) .* padded input \(8,\)"),
    (lambda: RF.conv1d(rg.zeros(2, 3, 8), rg.zeros(4, 2, 3)), r"conv1d: input has 3 channels \(shape \(2, 3, 8\)\)"),
    (lambda: RF.max_pool1d(rg.zeros(2, 3, 8), 10), r"max_pool1d: input of shape \(2, 3, 8\) is too small"),
    (lambda: RF.avg_pool1d(rg.zeros(2, 3, 8), 2, padding=2), r"avg_pool1d: pad should be at most half"),
], ids=["conv1d kernel > input", "conv1d channels", "max_pool1d kernel > input", "avg_pool1d padding > kernel/2"])
def test_one_dimensional_errors_speak_of_the_1d_op_and_3d_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_empty_adaptive_pool_gives_a_zero_gradient():
    x = rg.randn(2, 3, 4, 4, requires_grad=True)
    RF.adaptive_avg_pool2d(x, (0, 2)).sum().backward()
    assert x.grad.shape == (2, 3, 4, 4) and not x.grad.numpy().any()
