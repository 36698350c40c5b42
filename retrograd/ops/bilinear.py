"""F.bilinear, composed from one matmul, a product and a sum, which give it its gradients.

Forward and backward, per row of x1 (I) and x2 (J), A = weight (O, I, J), b = bias (O,):
    y_o = sum_ij x1_i A[o, i, j] x2_j + b_o
    dL/dx1 = sum_o g_o A_o x2 ;  dL/dx2 = sum_o g_o A_o^T x1 ;  dL/dA_o = sum over rows of g_o x1 x2^T ;
    dL/db = sum over rows of g.
"""
from .elementwise import add, mul
from .linalg import matmul
from .reduce import sum as reduce_sum
from .shape import permute, reshape, unsqueeze


def bilinear(input1, input2, weight, bias=None):
    """x1 (..., I), x2 (..., J), weight (O, I, J), bias (O,) -> (..., O). See the module docstring."""
    out_features, in1, in2 = weight.shape if weight.ndim == 3 else (None, None, None)
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be three-dimensional, got {weight.ndim}D")
    if input1.shape[-1:] != (in1,):
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1] if input1.ndim else None} but expected {in1}")
    if input2.shape[-1:] != (in2,):
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1] if input2.ndim else None} but expected {in2}")
    if input1.ndim != input2.ndim or input1.shape[:-1] != input2.shape[:-1]:
        for dim, (a, b) in enumerate(zip(input1.shape[:-1], input2.shape[:-1])):
            if a != b:
                raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {dim}: got {a} and {b}")
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}")
    if bias is not None and tuple(bias.shape) != (out_features,):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {tuple(bias.shape)} but "
                           f"expected ({out_features},)")
    batch_shape = tuple(input1.shape[:-1])
    rows1, rows2 = reshape(input1, (-1, in1)), reshape(input2, (-1, in2))  # (R, I), (R, J)
    weight_by_i = reshape(permute(weight, (1, 0, 2)), (in1, out_features * in2))  # (I, O*J)
    projected = reshape(matmul(rows1, weight_by_i), (-1, out_features, in2))  # (R, O, J): x1^T A_o per o
    y = reduce_sum(mul(projected, unsqueeze(rows2, 1)), 2)  # (R, O)
    if bias is not None:
        y = add(y, bias)
    return reshape(y, batch_shape + (out_features,))
