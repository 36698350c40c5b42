"""Formatting tensors with a format spec (f"{loss:.4f}"), compared with PyTorch's __format__."""
import numpy as np
import pytest
import torch

import retrograd as rg

CASES = [  # (array, format spec)
    (np.array(0.1, np.float32), ".10f"), (np.array(0.1, np.float32), ""), (np.array(-1.25), "+.2f"),
    (np.array(1234.5678), ",.1f"), (np.array(0.000123), ".3e"), (np.array(0.5), ">10.2%"),
    (np.array(3), "05d"), (np.array(3), ".2f"), (np.array(True), ""), (np.array(2.5, np.float16), ".3f"),
    (np.array([1.5, 2.0]), ""), (np.array(7.0), "g"),
]


@pytest.mark.parametrize("array,spec", CASES, ids=[f"{a.dtype}{a.shape}-{s!r}" for a, s in CASES])
def test_format_matches_pytorch(array, spec):
    ours = format(rg.tensor(array), spec)
    theirs = format(torch.tensor(array), spec)
    assert ours == theirs  # an empty spec on a tensor that is not 0-d gives str(tensor): PyTorch's text too


def test_format_of_a_result_that_requires_grad_and_str_format():
    loss = (rg.tensor(0.5, requires_grad=True) * 3).sum()
    assert f"{loss:.4f}" == "1.5000" and "{:+.2f}".format(loss) == "+1.50" and f"{loss}" == "1.5"


@pytest.mark.parametrize("make", [lambda m: m.tensor([1.5]), lambda m: m.tensor([1.0, 2.0]),
                                  lambda m: m.nn.Parameter(m.tensor(1.0))])
def test_non_0d_tensors_and_parameters_refuse_a_spec_like_pytorch(make):
    with pytest.raises(TypeError) as theirs:
        format(make(torch), ".2f")
    with pytest.raises(TypeError) as ours:
        format(make(rg), ".2f")
    assert str(ours.value) == str(theirs.value)  # "unsupported format string passed to Tensor.__format__"


def test_a_wrong_code_for_the_number_raises_pythons_error():
    with pytest.raises(ValueError, match="Unknown format code 'd' for object of type 'float'"):
        format(rg.tensor(2.0), "d")
