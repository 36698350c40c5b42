"""Every `.grad` owns its memory: no two gradients, and no gradient and parameter, share an array.

A shared array would let an in-place edit of one gradient (`clip_grad_norm_`, `grad.mul_`, an
optimizer's update) silently change another. Sharing can arise wherever one array reaches two
places: a VJP returning the same array for two inputs (add, the fused RNN's two biases), the
unbroadcast fast path handing grad_out on unchanged, a root gradient or a hook's tensor that the
user still holds. PyTorch's AccumulateGrad copies unless it holds the only reference; so does
retrograd's.
"""
import inspect
import itertools

import numpy as np
import pytest

import retrograd as rg
from retrograd import models, nn
from retrograd.ops.base import record


def _seq(batch=2, steps=3, size=3):
    return rg.randn(steps, batch, size)


class _ParameterListUser(nn.Module):
    """ParameterList and ParameterDict are not callable: a module using each parameter twice calls them."""

    def __init__(self):
        super().__init__()
        self.weights = nn.ParameterList([rg.randn(3, 3), rg.randn(3)])

    def forward(self, x):
        return (x @ self.weights[0] + self.weights[1]) @ self.weights[0]


class _ParameterDictUser(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.ParameterDict({"w": rg.randn(3, 3), "b": rg.randn(3)})

    def forward(self, x):
        return (x @ self.weights["w"] + self.weights["b"]) @ self.weights["w"]


# every module class in retrograd.nn and retrograd.models that owns parameters, built every way that
# changes which parameters exist, with an input for it
class _SelfAttention(nn.Module):
    """MultiheadAttention called on one input, as the table calls every layer."""

    def __init__(self, attention):
        super().__init__()
        self.attention = attention

    def forward(self, x):
        return self.attention(x, x, x)[0]


class _KeysOfOtherSize(nn.Module):
    """MultiheadAttention with kdim = vdim = 3 != embed_dim: keys and values are the input's first 3 features."""

    def __init__(self, attention):
        super().__init__()
        self.attention = attention

    def forward(self, x):
        return self.attention(x, x[..., :3], x[..., :3])[0]


class _OnItself(nn.Module):
    """A layer taking (target, memory) or (src, tgt), called with the one input twice."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x, x)


def _encoder_layer(**kwargs):
    return nn.TransformerEncoderLayer(4, 2, 8, batch_first=True, **kwargs)


LAYERS = {
    "Linear": lambda: (nn.Linear(3, 4), rg.randn(2, 3)),
    "MultiheadAttention": lambda: (_SelfAttention(nn.MultiheadAttention(4, 2)), rg.randn(3, 2, 4)),
    "MultiheadAttention-kdim-vdim-bias_kv-zero_attn": lambda: (_KeysOfOtherSize(nn.MultiheadAttention(
        4, 2, kdim=3, vdim=3, add_bias_kv=True, add_zero_attn=True)), rg.randn(3, 2, 4)),
    "TransformerEncoderLayer": lambda: (_encoder_layer(), rg.randn(2, 3, 4)),
    "TransformerEncoderLayer-nobias-normfirst": lambda: (_encoder_layer(bias=False, norm_first=True), rg.randn(2, 3, 4)),
    "TransformerEncoder": lambda: (nn.TransformerEncoder(_encoder_layer(), 2, nn.LayerNorm(4)), rg.randn(2, 3, 4)),
    "TransformerDecoderLayer": lambda: (_OnItself(nn.TransformerDecoderLayer(4, 2, 8)), rg.randn(3, 2, 4)),
    "TransformerDecoder": lambda: (_OnItself(nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 8), 2)),
                                   rg.randn(3, 2, 4)),
    "Transformer": lambda: (_OnItself(nn.Transformer(4, 2, 1, 1, 8, batch_first=True)), rg.randn(2, 3, 4)),
    "Linear-nobias": lambda: (nn.Linear(3, 4, bias=False), rg.randn(2, 3)),
    "Conv1d": lambda: (nn.Conv1d(2, 3, 3, padding=1), rg.randn(2, 2, 5)),
    "Conv1d-nobias": lambda: (nn.Conv1d(2, 3, 3, bias=False), rg.randn(2, 2, 5)),
    "Conv2d": lambda: (nn.Conv2d(2, 3, 3, padding=1), rg.randn(2, 2, 5, 5)),
    "Conv2d-nobias-groups": lambda: (nn.Conv2d(2, 4, 3, groups=2, bias=False), rg.randn(2, 2, 5, 5)),
    "ConvTranspose1d": lambda: (nn.ConvTranspose1d(2, 3, 3, stride=2), rg.randn(2, 2, 5)),
    "ConvTranspose2d-nobias-groups": lambda: (nn.ConvTranspose2d(2, 4, 3, groups=2, bias=False), rg.randn(2, 2, 4, 4)),
    "BatchNorm1d": lambda: (nn.BatchNorm1d(3), rg.randn(4, 3)),
    "BatchNorm2d": lambda: (nn.BatchNorm2d(3), rg.randn(2, 3, 2, 2)),
    "SyncBatchNorm": lambda: (nn.SyncBatchNorm(3), rg.randn(2, 3, 2, 2)),  # without a process group: BatchNorm
    "LayerNorm": lambda: (nn.LayerNorm(3), rg.randn(2, 3)),
    "LayerNorm-nobias": lambda: (nn.LayerNorm((2, 3), bias=False), rg.randn(2, 2, 3)),
    "Embedding": lambda: (nn.Embedding(5, 3), rg.tensor([[1, 2, 1], [4, 1, 0]])),
    "Embedding-padding": lambda: (nn.Embedding(5, 3, padding_idx=1), rg.tensor([[1, 2, 1], [4, 1, 0]])),
    "RNN": lambda: (nn.RNN(3, 4), _seq()),
    "RNN-nobias": lambda: (nn.RNN(3, 4, bias=False), _seq()),
    "RNN-relu-2layers-bidirectional": lambda: (nn.RNN(3, 4, 2, nonlinearity="relu", bidirectional=True), _seq()),
    "LSTM": lambda: (nn.LSTM(3, 4), _seq()),
    "LSTM-nobias": lambda: (nn.LSTM(3, 4, bias=False), _seq()),
    "LSTM-2layers-bidirectional-proj": lambda: (nn.LSTM(3, 4, 2, bidirectional=True, proj_size=2), _seq()),
    "GRU": lambda: (nn.GRU(3, 4), _seq()),
    "GRU-nobias": lambda: (nn.GRU(3, 4, bias=False), _seq()),
    "GRU-2layers-bidirectional": lambda: (nn.GRU(3, 4, 2, bidirectional=True), _seq()),
    "RNNCell": lambda: (nn.RNNCell(3, 4), rg.randn(2, 3)),
    "RNNCell-nobias": lambda: (nn.RNNCell(3, 4, bias=False), rg.randn(2, 3)),
    "LSTMCell": lambda: (nn.LSTMCell(3, 4), rg.randn(2, 3)),
    "LSTMCell-nobias": lambda: (nn.LSTMCell(3, 4, bias=False), rg.randn(2, 3)),
    "GRUCell": lambda: (nn.GRUCell(3, 4), rg.randn(2, 3)),
    "GRUCell-nobias": lambda: (nn.GRUCell(3, 4, bias=False), rg.randn(2, 3)),
    "LeNet5": lambda: (models.LeNet5(), rg.randn(2, 1, 28, 28)),
    "BasicBlock": lambda: (models.BasicBlock(2, 2), rg.randn(2, 2, 4, 4)),
    "BasicBlock-projection": lambda: (models.BasicBlock(2, 4, stride=2), rg.randn(2, 2, 4, 4)),
    "ResNet": lambda: (models.resnet_small(), rg.randn(2, 1, 28, 28)),
    "ParameterList-in-a-module": lambda: (_ParameterListUser(), rg.randn(2, 3)),
    "ParameterDict-in-a-module": lambda: (_ParameterDictUser(), rg.randn(2, 3)),
    "GroupNorm": lambda: (nn.GroupNorm(2, 4), rg.randn(2, 4, 3)),
    "GroupNorm-nobias": lambda: (nn.GroupNorm(1, 3, bias=False), rg.randn(2, 3, 2)),
    "InstanceNorm1d-affine": lambda: (nn.InstanceNorm1d(3, affine=True), rg.randn(2, 3, 4)),
    "InstanceNorm2d-affine-tracked": lambda: (nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
                                              rg.randn(2, 3, 2, 2)),
    "InstanceNorm3d-affine": lambda: (nn.InstanceNorm3d(2, affine=True), rg.randn(1, 2, 2, 2, 2)),
    "RMSNorm": lambda: (nn.RMSNorm(3), rg.randn(2, 3)),
    "PReLU": lambda: (nn.PReLU(), rg.randn(2, 3)),
    "PReLU-per-channel": lambda: (nn.PReLU(3), rg.randn(2, 3, 4)),
    "Bilinear": lambda: (_OnItself(nn.Bilinear(3, 3, 2)), rg.randn(4, 3)),
    "Bilinear-nobias": lambda: (_OnItself(nn.Bilinear(3, 3, 2, bias=False)), rg.randn(4, 3)),
    # a layer used twice in one graph: its gradients arrive at each parameter from two places
    "Linear-shared": lambda: (nn.Sequential(*[nn.Linear(3, 3)] * 2), rg.randn(2, 3)),
}


def _parameter_free_classes():
    """Module classes that own no parameters (activations, pooling, losses, containers...)."""
    return {"Module", "Sequential", "ModuleList", "ModuleDict", "RNNBase", "RNNCellBase", "Identity", "Flatten",
            "Unflatten", "Dropout", "Dropout2d", "ReLU", "ReLU6", "Sigmoid", "Tanh", "SiLU", "LogSigmoid",
            "LeakyReLU", "ELU", "GELU", "Softplus", "Hardtanh", "Threshold", "Softmax", "LogSoftmax", "Softmin", "MaxPool1d",
            "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "MaxUnpool2d",
            "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss", "MSELoss",
            "NLLLoss", "SmoothL1Loss", "Dropout1d", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
            "PixelShuffle", "PixelUnshuffle",
            # activations, padding, distances, pooling and losses without parameters
            "SELU", "CELU", "Mish", "Hardswish", "Hardsigmoid", "GLU", "Softsign", "Softshrink", "Hardshrink",
            "Tanhshrink", "Softmax2d", "RReLU", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d",
            "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
            "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d",
            "CircularPad3d", "CosineSimilarity", "PairwiseDistance", "LocalResponseNorm", "Fold", "Unfold",
            "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
            "MultiLabelSoftMarginLoss", "CosineEmbeddingLoss", "TripletMarginLoss", "MultiMarginLoss",
            "GaussianNLLLoss", "PoissonNLLLoss"}


def test_every_layer_with_parameters_is_covered():
    exported = {name for package in (nn, models) for name, obj in vars(package).items()
                if inspect.isclass(obj) and issubclass(obj, nn.Module)}
    covered = {name.split("-")[0] for name in LAYERS} | {"ResNet"}
    missing = exported - covered - _parameter_free_classes()
    assert not missing, f"add these layers to LAYERS (they may own parameters): {sorted(missing)}"


def _first_output(result):
    while isinstance(result, (tuple, list)):
        result = result[0]
    return result


def _loss(model, x):
    out = _first_output(model(x))
    dout = rg.tensor(np.random.default_rng(0).standard_normal(out.shape).astype(out.dtype))
    return (out * dout).sum()


def _assert_owned(model, when):
    params = dict(model.named_parameters())
    grads = {f"{name}.grad": p.grad.array for name, p in params.items() if p.grad is not None}
    assert grads, f"{when}: no gradient reached the parameters"
    arrays = {**grads, **{name: p.array for name, p in params.items()}}
    for (name_a, a), (name_b, b) in itertools.combinations(arrays.items(), 2):
        if name_a in grads or name_b in grads:
            assert not np.shares_memory(a, b), f"{when}: {name_a} shares memory with {name_b}"
    for name, g in grads.items():
        assert g.flags.writeable, f"{when}: {name} is read-only"


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_each_parameter_grad_owns_its_memory(name):
    model, x = LAYERS[name]()
    _loss(model, x).backward()
    _assert_owned(model, "first backward")
    _loss(model, x).backward()
    _assert_owned(model, "second backward, accumulating without zero_grad")
    model.zero_grad(set_to_none=True)
    _loss(model, x).backward()
    _assert_owned(model, "after zero_grad(set_to_none=True)")
    model.zero_grad(set_to_none=False)
    _loss(model, x).backward()
    _assert_owned(model, "after zero_grad(set_to_none=False)")


def test_rnn_bias_gradients_are_independent_after_in_place_edit():
    # the reported failure: bias_ih and bias_hh got one array, so scaling one scaled both
    model = nn.RNN(3, 4)
    model.zero_grad()
    _loss(model, _seq()).backward()
    bias_hh_before = model.bias_hh_l0.grad.array.copy()
    model.bias_ih_l0.grad.mul_(0)
    np.testing.assert_array_equal(model.bias_hh_l0.grad.array, bias_hh_before)


def test_sum_of_two_leaves():
    a = rg.randn(3, requires_grad=True)
    b = rg.randn(3, requires_grad=True)
    (a + b).backward(rg.ones(3))
    assert not np.shares_memory(a.grad.array, b.grad.array)
    a.grad.mul_(3)
    np.testing.assert_array_equal(b.grad.array, np.ones(3, np.float32))


def test_user_gradient_is_not_adopted():
    a = rg.randn(3, requires_grad=True)
    b = rg.randn(3, requires_grad=True)
    gradient = rg.tensor([1.0, 2.0, 3.0])
    (a + b).backward(gradient)
    (a * 1).backward(gradient)  # a leaf reached through one op only, fresh grad: the seed still belongs to the user
    for leaf in (a, b):
        assert not np.shares_memory(leaf.grad.array, gradient.array)
    c = rg.randn(3, requires_grad=True)
    c.backward(gradient)  # the root is the leaf itself
    assert not np.shares_memory(c.grad.array, gradient.array)
    c.grad.zero_()
    np.testing.assert_array_equal(gradient.array, [1.0, 2.0, 3.0])


def test_same_leaf_twice_and_broadcast():
    x = rg.randn(3, requires_grad=True)
    y = rg.randn(2, 3, requires_grad=True)
    (x + x + y).backward(rg.ones(2, 3))  # unbroadcast sums x's gradient, passes y's unchanged
    np.testing.assert_array_equal(x.grad.array, np.full(3, 4, np.float32))
    assert not np.shares_memory(x.grad.array, y.grad.array)
    w = rg.randn(2, 3, requires_grad=True)
    ((w + y) * 1).sum().backward()
    assert not np.shares_memory(w.grad.array, y.grad.array)


def test_hook_tensors_stay_the_users():
    seen = []
    a = rg.randn(3, requires_grad=True)
    h = a * 2
    h.register_hook(seen.append)  # the user keeps the gradient tensor it was shown
    b = rg.randn(3, requires_grad=True)
    replacement = rg.tensor([5.0, 5.0, 5.0])
    b.register_hook(lambda grad: replacement)
    (h + b).sum().backward()
    assert not np.shares_memory(b.grad.array, replacement.array)
    assert not np.shares_memory(b.grad.array, seen[0].array)
    h2 = a * 1
    h2.retain_grad()
    (h2 + b).sum().backward()
    assert not np.shares_memory(h2.grad.array, b.grad.array)


def test_backward_with_inputs_gives_each_leaf_its_own_array():
    a = rg.randn(3, requires_grad=True)
    b = rg.randn(3, requires_grad=True)
    (a + b).sum().backward(inputs=[a, b])
    assert not np.shares_memory(a.grad.array, b.grad.array)


def test_an_exclusively_owned_gradient_is_adopted_without_copy():
    # the cheap path: a VJP's fresh array reaches a single leaf and becomes its .grad as is
    produced = []

    def double(x):
        def double_backward(grad_out):
            grad = grad_out * 2
            produced.append(id(grad))  # the id only: holding the array would make it shared
            return (grad,)
        return record(double, x.array * 2, (x,), double_backward)

    w = rg.randn(3, requires_grad=True)
    double(w).sum().backward()
    assert id(w.grad.array) == produced[0]
