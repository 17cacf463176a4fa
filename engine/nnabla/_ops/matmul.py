"""BatchMatmul: a stack of matrix products, the batch axes broadcast where one side has size 1."""

from __future__ import annotations

from ..function import Function, FunctionError, register
from ._base import unbroadcast


@register
class BatchMatmul(Function):
    """y[...] = op(a[...]) @ op(b[...]) over the leading (batch) axes; op transposes when asked."""

    inputs_spec = ("a", "b")
    args_spec = {"transpose_a": False, "transpose_b": False}

    def output_shapes(self, sa, sb):
        if len(sa) < 3 or len(sb) < 3 or len(sa) != len(sb):
            raise FunctionError(
                f"BatchMatmul: a of shape {sa} and b of shape {sb} must have the same number (>= 3) of dimensions"
            )
        rows, inner_a = (sa[-1], sa[-2]) if self.args["transpose_a"] else (sa[-2], sa[-1])
        inner_b, cols = (sb[-1], sb[-2]) if self.args["transpose_b"] else (sb[-2], sb[-1])
        if inner_a != inner_b:
            raise FunctionError(
                f"BatchMatmul: a of shape {sa} (transpose_a={self.args['transpose_a']}) and b of shape {sb} "
                f"(transpose_b={self.args['transpose_b']}) disagree on the reduced size ({inner_a} != {inner_b})"
            )
        batch = []
        for d, (m, n) in enumerate(zip(sa[:-2], sb[:-2])):
            if m != n and 1 not in (m, n):
                raise FunctionError(
                    f"BatchMatmul: batch axis {d} of a of shape {sa} and b of shape {sb} differ ({m} vs {n}) "
                    "and neither is 1"
                )
            batch.append(max(m, n))
        return [tuple(batch) + (rows, cols)]

    def _operands(self, xp, a, b):
        a = xp.swapaxes(a, -1, -2) if self.args["transpose_a"] else a
        b = xp.swapaxes(b, -1, -2) if self.args["transpose_b"] else b
        return a, b

    def compute(self, xp, a, b):
        a, b = self._operands(xp, a, b)
        return xp.matmul(a, b)

    def grad(self, xp, xs, ys, gys, need):
        a, b = self._operands(xp, *xs)
        gy = gys[0]
        ga = gb = None
        if need[0]:
            ga = unbroadcast(xp, xp.matmul(gy, xp.swapaxes(b, -1, -2)), a.shape)
            ga = xp.swapaxes(ga, -1, -2) if self.args["transpose_a"] else ga
        if need[1]:
            gb = unbroadcast(xp, xp.matmul(xp.swapaxes(a, -1, -2), gy), b.shape)
            gb = xp.swapaxes(gb, -1, -2) if self.args["transpose_b"] else gb
        return ga, gb


def matmul_batched(a, b):
    """``a @ b`` (numpy's rules) when either side has more than two axes: ranks are evened out for BatchMatmul."""
    from ..function import apply
    from .array import Reshape

    def reshaped(v, shape):
        return v if tuple(v.shape) == tuple(shape) else apply(Reshape(None, shape=tuple(shape)), (v,))

    a_vector, b_vector = a.ndim == 1, b.ndim == 1
    a = reshaped(a, (1,) + tuple(a.shape)) if a_vector else a
    b = reshaped(b, tuple(b.shape) + (1,)) if b_vector else b
    rank = max(a.ndim, b.ndim)
    a = reshaped(a, (1,) * (rank - a.ndim) + tuple(a.shape))
    b = reshaped(b, (1,) * (rank - b.ndim) + tuple(b.shape))
    y = apply(BatchMatmul(None), (a, b))
    shape = tuple(y.shape)
    if b_vector:
        shape = shape[:-1]
    if a_vector:
        shape = shape[:-2] + shape[-1:]
    return reshaped(y, shape)


def dot(a, b, out=None):
    """numpy.dot on Variables or NdArrays (NNabla's ``F.dot``), composed of Mul2/Sum, Affine, MulScalar, Transpose.

    1-d with 1-d: the inner product; 0-d with anything: scaling; N-d with 1-d: over the last axis of a; N-d with
    M-d (M >= 2): over the last axis of a and the second-to-last of b. Anything else is numpy's. With ``out``
    (same shape and type as the result), the result goes there and nothing is returned, as in NNabla.
    """
    import numpy as np

    from .. import functions as F
    from .._array import NdArray
    from .._variable import Variable

    def values(v):
        return v.data if isinstance(v, NdArray) else v.d if isinstance(v, Variable) else v

    ours = (NdArray, Variable)
    if isinstance(a, ours) and isinstance(b, ours):
        if a.ndim == 1 and b.ndim == 1:
            result = F.sum(a * b)
        elif a.ndim == 2 and b.ndim == 2:
            result = F.affine(a, b)
        elif a.ndim == 0 or b.ndim == 0:
            scalar, other = (a, b) if a.ndim == 0 else (b, a)
            result = F.mul_scalar(other, float(values(scalar)))
            if isinstance(scalar, NdArray) is not isinstance(other, NdArray) and isinstance(result, Variable):
                result.forward()  # an NdArray operand makes the result an NdArray, as NNabla's does
                result = result.data
        elif b.ndim == 1:
            h = F.affine(a, F.reshape(b, (-1, 1)), base_axis=a.ndim - 1)
            result = F.reshape(h, h.shape[:-1])
        else:
            order = list(range(b.ndim))
            order.insert(0, order.pop(b.ndim - 2))
            result = F.affine(a, F.transpose(b, order), base_axis=a.ndim - 1)
    else:
        result = np.dot(values(a), values(b))
    if out is None:
        return result
    if type(out) is not type(result) or values(out).shape != values(result).shape:
        raise ValueError(
            "F.dot: out must have the shape, type and dtype of the result "
            f"({type(result).__name__} of shape {values(result).shape}), got {type(out).__name__} of shape "
            f"{values(out).shape}"
        )
    if isinstance(out, NdArray):
        out.copy_from(result)
    elif isinstance(out, Variable):
        out.rewire_on(result)
    else:
        out[...] = result
    return None


PUBLIC = {"dot": dot}
