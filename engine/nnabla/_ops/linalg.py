"""Batched linear algebra on (batch, n, n) arrays: inverse, determinant, log |determinant|, Cholesky factor;
and ``F.dot`` with numpy.dot's rules, composed from Affine, Transpose, Reshape and MulScalar as NNabla does."""

from __future__ import annotations

import numpy as np

from ..function import Function, FunctionError, register


def _square_batch(func, xs):
    if len(xs) != 3 or xs[1] != xs[2]:
        raise FunctionError(f"{func.type_name}: input must be a batch of square matrices (batch, n, n), got {xs}")


def _t(a):
    return a.swapaxes(-1, -2)


@register
class BatchInv(Function):
    """y[b] = inverse of x[b]."""

    grad_uses = "y"

    def output_shapes(self, xs):
        _square_batch(self, xs)
        return [xs]

    def compute(self, xp, x):
        return xp.linalg.inv(x)

    def grad(self, xp, xs, ys, gys, need):
        inv = ys[0]
        return (-_t(inv) @ gys[0] @ _t(inv),)


@register
class BatchDet(Function):
    """y[b] = det(x[b])."""

    grad_uses = "xy"

    def output_shapes(self, xs):
        _square_batch(self, xs)
        return [xs[:1]]

    def compute(self, xp, x):
        return xp.linalg.det(x)

    def grad(self, xp, xs, ys, gys, need):
        return ((gys[0] * ys[0])[:, None, None] * _t(xp.linalg.inv(xs[0])),)

    def grad_graph(self, xs, ys, gys, need):
        from .. import functions as F

        x = xs[0]
        scale = F.reshape(gys[0] * ys[0], (x.shape[0], 1, 1))
        return [scale * F.transpose(F.batch_inv(x), (0, 2, 1))]


@register
class BatchLogdet(Function):
    """y[b] = log |det(x[b])|."""

    double_backward = False  # as in NNabla

    def output_shapes(self, xs):
        _square_batch(self, xs)
        return [xs[:1]]

    def compute(self, xp, x):
        return xp.log(xp.abs(xp.linalg.det(x)))

    def grad(self, xp, xs, ys, gys, need):
        return (gys[0][:, None, None] * _t(xp.linalg.inv(xs[0])),)


@register
class BatchCholesky(Function):
    """y[b] = the lower (or, with ``upper``, upper) triangular L with L L^T = x[b] for symmetric positive definite
    x; the gradient is symmetric, as NNabla's."""

    double_backward = False  # as in NNabla

    args_spec = {"upper": False}
    grad_uses = "y"

    def output_shapes(self, xs):
        _square_batch(self, xs)
        return [xs]

    def compute(self, xp, x):
        try:
            lower = xp.linalg.cholesky(x)
        except np.linalg.LinAlgError:  # (cupy raises numpy's too) what only the data shows: raised at forward
            raise FunctionError(
                f"BatchCholesky: some matrix of x (shape {x.shape}) is not symmetric positive definite"
            ) from None
        return _t(lower).copy() if self.args["upper"] else lower

    def grad(self, xp, xs, ys, gys, need):
        upper = self.args["upper"]
        lower = _t(ys[0]) if upper else ys[0]
        g = _t(gys[0]) if upper else gys[0]
        n = lower.shape[-1]
        # phi: the lower triangle of L^T gL with its diagonal halved
        p = xp.tril(_t(lower) @ g)
        p[..., xp.arange(n), xp.arange(n)] *= 0.5
        inv = xp.linalg.inv(lower)
        s = _t(inv) @ p @ inv
        return (0.5 * (s + _t(s)),)


def dot(a, b, out=None):
    """numpy.dot on Variables or NdArrays: inner product, matrix product, scaling by a 0-d operand, or a sum
    product over a's last axis and b's second-to-last (NNabla's ``F.dot``); with ``out`` the result goes there
    and nothing is returned."""
    import numpy as np

    from .. import functions as F
    from .._array import NdArray
    from .._variable import Variable

    def values(x):
        if isinstance(x, NdArray):
            return x.data, True
        if isinstance(x, Variable):
            return x.d, True
        return x, False

    m, a_is_array = values(a)
    n, b_is_array = values(b)
    if a_is_array and b_is_array:
        if a.ndim == 1 and b.ndim == 1:
            result = F.sum(a * b)
        elif a.ndim == 2 and b.ndim == 2:
            result = F.affine(a, b)
        elif a.ndim == 0 or b.ndim == 0:
            scaled, scalar = (b, m) if a.ndim == 0 else (a, n)
            result = F.mul_scalar(scaled, float(scalar))
            if isinstance(result, Variable) and (isinstance(a, NdArray) or isinstance(b, NdArray)):
                result.forward()
                result = result.data
        elif b.ndim == 1:
            h = F.affine(a, F.reshape(b, (-1, 1)), base_axis=a.ndim - 1)
            result = F.reshape(h, h.shape[:-1])
        else:
            order = list(range(b.ndim))
            order.insert(0, order.pop(b.ndim - 2))
            result = F.affine(a, F.transpose(b, order), base_axis=a.ndim - 1)
    else:
        result = np.dot(a, b)
    if out is None:
        return result
    out_values, _ = values(out)
    result_values, _ = values(result)
    if (
        type(out) is not type(result)
        or out_values.shape != result_values.shape
        or (out_values.dtype != result_values.dtype)
    ):
        raise ValueError(
            "F.dot: the output argument must have the same shape, type and dtype as the result that would be "
            f"returned for F.dot(a, b) (result of shape {tuple(result_values.shape)}, {type(result).__name__})"
        )
    if isinstance(out, NdArray):
        out.cast(result.data.dtype)[...] = result.data
    elif isinstance(out, Variable):
        out.rewire_on(result)
    return None


PUBLIC = {"dot": dot}
