"""MarginRankingLoss, HingeEmbeddingLoss, SoftMarginLoss, MultiLabelSoftMarginLoss, CosineEmbeddingLoss,
TripletMarginLoss, MultiMarginLoss, GaussianNLLLoss, PoissonNLLLoss (functional and layers) against torch 2.13."""
import numpy as np
import pytest
import torch

import retrograd as rg
from helpers import assert_parity, numerical_check
from retrograd import nn
from retrograd.nn import functional as F

rng = np.random.default_rng(0)
TF = torch.nn.functional
REDUCTIONS = ["mean", "sum", "none"]
SIGNS = np.array([1.0, -1.0, -1.0, 1.0, -1.0])


def _both(name, *constants, **kwargs):
    """(retrograd's function, PyTorch's) with trailing constant (non-differentiable) arguments bound."""
    return (lambda *a: getattr(F, name)(*a, *[rg.tensor(c) for c in constants], **kwargs),
            lambda *a: getattr(TF, name)(*a, *[torch.tensor(c) for c in constants], **kwargs))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_and_hinge_embedding_match_torch_at_the_kink(reduction):
    x1, x2 = rng.standard_normal(5), rng.standard_normal(5)
    x2[0] = x1[0] + 0.3  # -y (x1 - x2) + margin = 0 exactly: clamp passes the gradient there, as PyTorch
    ours = lambda a, b, y: F.margin_ranking_loss(a, b, y, 0.3, reduction=reduction)  # noqa: E731
    theirs = lambda a, b, y: TF.margin_ranking_loss(a, b, y, 0.3, reduction=reduction)  # noqa: E731
    assert_parity(ours, theirs, x1, x2, SIGNS)  # the target gets PyTorch's gradient too
    x = np.array([0.5, 0.2, 2.0, -1.0, 0.7])  # margin - x = 0 at a y = -1 entry
    assert_parity(*_both("hinge_embedding_loss", SIGNS, margin=0.5, reduction=reduction), x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_and_multilabel_soft_margin_match_torch(reduction):
    assert_parity(*_both("soft_margin_loss", SIGNS, reduction=reduction), rng.standard_normal(5) * 3)
    x, y, w = rng.standard_normal((4, 3)), (rng.random((4, 3)) > 0.5).astype(float), rng.random(3)
    assert_parity(lambda x, y, w: F.multilabel_soft_margin_loss(x, y, w, reduction=reduction),
                  lambda x, y, w: TF.multilabel_soft_margin_loss(x, y, w, reduction=reduction), x, y, w)
    assert_parity(lambda x, y: F.multilabel_soft_margin_loss(x, y, reduction=reduction),
                  lambda x, y: TF.multilabel_soft_margin_loss(x, y, reduction=reduction), x[0], y[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_loss_matches_torch(reduction):
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert_parity(*_both("cosine_embedding_loss", np.array([1.0, -1.0, -1.0, 1.0]), margin=0.1,
                         reduction=reduction), a, b)
    assert_parity(*_both("cosine_embedding_loss", np.array(-1.0), margin=-0.5, reduction=reduction), a[0], b[0])


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_margin_loss_matches_torch(p, swap, reduction):
    a, pos, neg = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert_parity(lambda a, b, c: F.triplet_margin_loss(a, b, c, 0.7, p, swap=swap, reduction=reduction),
                  lambda a, b, c: TF.triplet_margin_loss(a, b, c, 0.7, p, swap=swap, reduction=reduction), a, pos, neg)


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss_matches_torch(p, reduction):
    x, labels, w = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2]), rng.random(3)
    x[0, 1] = x[0, 0] - 0.8  # margin - x_y + x_j = 0: no gradient at the kink, as PyTorch
    assert_parity(*_both("multi_margin_loss", labels, p=p, margin=0.8, reduction=reduction), x)
    assert_parity(lambda x: F.multi_margin_loss(x, rg.tensor(labels), p, 0.8, rg.tensor(w), reduction=reduction),
                  lambda x: TF.multi_margin_loss(x, torch.tensor(labels), p, 0.8, torch.tensor(w),
                                                 reduction=reduction), x)
    assert_parity(*_both("multi_margin_loss", np.array(1), p=p, reduction=reduction), x[1])
    assert_parity(*_both("multi_margin_loss", np.array([1]), p=p, reduction=reduction), x[1])  # (1,) for 'none'
    assert_parity(*_both("multi_margin_loss", np.array(0), p=p, reduction=reduction), np.array(1.2))  # one class


@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1), (1, 3)])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss_matches_torch_for_each_variance_layout(var_shape, full, reduction):
    x, y, var = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.random(var_shape) + 0.1
    var.reshape(-1)[0] = 1e-9  # under eps: floored, and still given its gradient (PyTorch's no-grad clamp_)
    assert_parity(lambda x, y, v: F.gaussian_nll_loss(x, y, v, full, reduction=reduction),
                  lambda x, y, v: TF.gaussian_nll_loss(x, y, v, full, reduction=reduction), x, y, var)


@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_poisson_nll_loss_matches_torch(log_input, full, reduction):
    x, counts = rng.standard_normal((4, 3)), rng.poisson(2.0, (4, 3)).astype(float)
    counts[0, :2] = [0.0, 1.0]  # Stirling's term is left out where y <= 1
    assert_parity(*_both("poisson_nll_loss", counts, log_input=log_input, full=full, reduction=reduction),
                  x if log_input else np.abs(x))


def test_composed_losses_have_numerically_right_gradients():
    a, b, c = (rng.standard_normal((3, 4)) for _ in range(3))
    numerical_check(lambda a, b, c: F.triplet_margin_loss(a, b, c, 2.0, swap=True, reduction="none"), a, b, c)
    numerical_check(lambda a, b: F.cosine_embedding_loss(a, b, rg.tensor([1.0, -1.0, -1.0]), -0.9,
                                                         reduction="none"), a, b)
    numerical_check(lambda x, v: F.gaussian_nll_loss(x, rg.tensor(b), v, reduction="none"), a, rng.random((3, 1)) + 0.5)
    numerical_check(lambda x: F.multi_margin_loss(x, rg.tensor([0, 3, 1]), 2, reduction="none"), a)
    numerical_check(lambda x, y: F.multilabel_soft_margin_loss(x, y, reduction="none"), a, rng.random((3, 4)))


LAYERS = [  # (class, constructor keyword arguments, input shapes, constant targets)
    ("MarginRankingLoss", {"margin": 0.2}, [(5,), (5,)], [SIGNS]),
    ("HingeEmbeddingLoss", {"margin": 2.0, "reduction": "sum"}, [(5,)], [SIGNS]),
    ("SoftMarginLoss", {}, [(5,)], [SIGNS]),
    ("MultiLabelSoftMarginLoss", {"reduction": "none"}, [(4, 3)], [np.eye(4, 3)]),
    ("CosineEmbeddingLoss", {"margin": 0.3}, [(5, 3), (5, 3)], [SIGNS]),
    ("TripletMarginLoss", {"margin": 0.5, "p": 1.0, "swap": True}, [(5, 3), (5, 3), (5, 3)], []),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5}, [(5, 3)], [np.array([0, 1, 2, 1, 0])]),
    ("GaussianNLLLoss", {"full": True}, [(5, 3), (5, 3)], [np.ones((5, 1))]),
    ("PoissonNLLLoss", {"full": True, "reduction": "sum"}, [(5, 3)], [np.full((5, 3), 3.0)]),
]


@pytest.mark.parametrize("cls, kwargs, shapes, constants", LAYERS)
def test_loss_layers_match_torch(cls, kwargs, shapes, constants):
    ours, theirs = getattr(nn, cls)(**kwargs), getattr(torch.nn, cls)(**kwargs)
    assert repr(getattr(nn, cls)()) == repr(getattr(torch.nn, cls)()) == f"{cls}()"
    assert ours.reduction == theirs.reduction
    arrays = [rng.standard_normal(shape) for shape in shapes]

    class WithTargets:  # the constant targets bound, so only the inputs carry gradients
        def __init__(self, layer, lib):
            self.layer, self.lib = layer, lib

        def __call__(self, *inputs):
            return self.layer(*inputs, *[self.lib.tensor(c) for c in constants])

    assert_parity(WithTargets(ours, rg), WithTargets(theirs, torch), *arrays)


def test_loss_layers_and_functions_refuse_bad_input_as_torch():
    with pytest.raises(ValueError, match="TripletMarginLoss: expected margin to be greater than 0, got 0 instead"):
        nn.TripletMarginLoss(margin=0)
    with pytest.raises(ValueError, match="margin must be greater than 0, got -1"):
        F.triplet_margin_loss(rg.ones(2, 3), rg.ones(2, 3), rg.ones(2, 3), margin=-1)
    with pytest.raises(RuntimeError, match="The anchor, positive, and negative tensors are expected to have the same "
                                           "number of dimensions, but got: anchor 2D, positive 1D, and negative 2D"):
        F.triplet_margin_loss(rg.ones(2, 3), rg.ones(3), rg.ones(2, 3))
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="MultiMarginLoss: expected weight to be None or 1D tensor, got 2D instead"):
        nn.MultiMarginLoss(weight=rg.ones(2, 2))
    with pytest.raises(RuntimeError, match="target out of range"):
        F.multi_margin_loss(rg.ones(2, 3), rg.tensor([0, 3]))
    with pytest.raises(RuntimeError, match=r"inconsistent target size, expected 2 but got \[3\]"):
        F.multi_margin_loss(rg.ones(2, 3), rg.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match="margin_ranking_loss : All input tensors should have same dimension but "
                                           r"got sizes: input1: torch.Size\(\[2\]\), input2: torch.Size\(\[2, 1\]\)"):
        F.margin_ranking_loss(rg.ones(2), rg.ones(2, 1), rg.ones(2))
    with pytest.raises(RuntimeError, match=r"1D target tensor expects 2D input tensors, but found inputs with sizes "
                                           r"\[3\] and \[3\]."):
        F.cosine_embedding_loss(rg.ones(3), rg.ones(3), rg.ones(3))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(rg.ones(4, 3), rg.ones(4, 3), rg.ones(2, 3))
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        F.gaussian_nll_loss(rg.ones(4, 3), rg.ones(4, 3), -rg.ones(4, 3))
    with pytest.raises(RuntimeError, match="'soft_margin_loss' is not differentiable with respect to argument "
                                           "'target'"):
        F.soft_margin_loss(rg.ones(3), rg.ones(3, requires_grad=True))
    with pytest.raises(RuntimeError, match="'multi_margin_loss' is not differentiable with respect to argument "
                                           "'weight'"):
        F.multi_margin_loss(rg.ones(2, 3), rg.tensor([0, 1]), weight=rg.ones(3, requires_grad=True))
    with pytest.raises(ValueError, match="max is not a valid value for reduction"):
        nn.SoftMarginLoss(reduction="max")
