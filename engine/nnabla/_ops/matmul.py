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
