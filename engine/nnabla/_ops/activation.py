"""Activations: elementwise nonlinearities and their gradients."""

from __future__ import annotations

import numpy as np

from .. import _native
from ..function import Function, FunctionError, register
from ._base import Unary, extreme, normalize_axis, select, where_else_zero
from ._blas import native_map


@register
class Sigmoid(Unary):
    """y = 1 / (1 + exp(-x))."""

    grad_uses = "y"

    def compute(self, xp, x):
        return 1 / (1 + xp.exp(-x))

    def backward_unary(self, xp, x, y, gy):
        return gy * y * (1 - y)


@register
class Tanh(Unary):
    """y = tanh(x)."""

    grad_uses = "y"

    def compute(self, xp, x):
        return xp.tanh(x)

    def backward_unary(self, xp, x, y, gy):
        return gy * (1 - y * y)


def _relu(xp, x):
    """max(0, x), and 0 where x is NaN, as NNabla's ReLU (fmax, where maximum would pass the NaN on); one native
    pass with the same bits where the native kernels run."""
    out = native_map(xp, _native.relu, x)
    return extreme(xp, xp.fmax, x, 0) if out is None else out


@register
class ReLU(Unary):
    """y = max(0, x); the gradient reads y (y > 0 exactly where x > 0), so that buffer clearing can free x."""

    fname = "relu"
    args_spec = {"inplace": False}
    grad_uses = "y"

    def compute(self, xp, x):
        return _relu(xp, x)

    def backward_unary(self, xp, x, y, gy):
        out = native_map(xp, _native.relu_grad, y, gy)  # (one pass where the native kernels run: the same bits)
        return where_else_zero(xp, y > 0, gy) if out is None else out  # NNabla gives 0.0 where x <= 0, never -0.0


def _sigmoid(xp, x):
    """1 / (1 + exp(-x)) written with tanh, which cannot overflow."""
    return 0.5 * (1 + xp.tanh(0.5 * x))


def _softplus(xp, x):
    """log(1 + exp(x)) without overflow for large |x|."""
    return extreme(xp, xp.maximum, x, 0) + xp.log(1 + xp.exp(-xp.abs(x)))  # NNabla's log(1 + .), not log1p


@register
class LeakyReLU(Unary):
    """y = x for x > 0, alpha * x otherwise."""

    fname = "leaky_relu"
    args_spec = {"alpha": 0.1, "inplace": False}

    def compute(self, xp, x):
        return select(xp, x > 0, x, x * self.args["alpha"])

    def backward_unary(self, xp, x, y, gy):
        return select(xp, x > 0, gy, gy * self.args["alpha"])


@register
class ELU(Unary):
    """y = x for x >= 0, alpha * (exp(x) - 1) otherwise."""

    fname = "elu"
    args_spec = {"alpha": 1.0}

    def compute(self, xp, x):
        # alpha * (exp(x) - 1) as NNabla writes it (its float exp, then the subtraction), not expm1: numpy's exp
        # is vectorized where its expm1 is not on every CPU (14 times slower without AVX-512)
        e = xp.exp(extreme(xp, xp.minimum, x, 0))
        e -= 1
        return select(xp, x >= 0, x, self.args["alpha"] * e)

    def backward_unary(self, xp, x, y, gy):
        return select(xp, x >= 0, gy, gy * self.args["alpha"] * xp.exp(extreme(xp, xp.minimum, x, 0)))


@register
class SELU(Unary):
    """y = scale * x for x > 0, scale * alpha * (exp(x) - 1) otherwise."""

    fname = "selu"
    args_spec = {"scale": 1.05070098735548, "alpha": 1.673263242354377}

    def compute(self, xp, x):
        scale, alpha = self.args["scale"], self.args["alpha"]
        e = xp.exp(extreme(xp, xp.minimum, x, 0))
        e -= 1  # (as ELU: NNabla's exp(x) - 1)
        return select(xp, x > 0, scale * x, scale * alpha * e)

    def backward_unary(self, xp, x, y, gy):
        scale, alpha = self.args["scale"], self.args["alpha"]
        return select(xp, x > 0, scale * gy, scale * alpha * xp.exp(extreme(xp, xp.minimum, x, 0)) * gy)


class PairedOnAxis(Unary):
    """y = concatenate(f(x), f(-x)) along ``axis`` (the output is twice as long there)."""

    args_spec = {"axis": 1}

    def output_shapes(self, shape):
        if not shape:
            raise FunctionError(f"{self.type_name}: input x must have at least one dimension, got shape {shape}")
        self.axis = normalize_axis(self, self.args["axis"], len(shape))
        out = list(shape)
        out[self.axis] *= 2
        return [tuple(out)]

    def half(self, xp, x):
        raise NotImplementedError

    def half_grad(self, xp, x, gy):
        raise NotImplementedError

    def compute(self, xp, x):
        return xp.concatenate((self.half(xp, x), self.half(xp, -x)), axis=self.axis)

    def backward_unary(self, xp, x, y, gy):
        g_pos, g_neg = xp.split(gy, 2, axis=self.axis)
        return self.half_grad(xp, x, g_pos) - self.half_grad(xp, -x, g_neg)


@register
class CReLU(PairedOnAxis):
    """y = concatenate(relu(x), relu(-x)) along ``axis``."""

    fname = "crelu"

    def half(self, xp, x):
        return _relu(xp, x)

    def backward_unary(self, xp, x, y, gy):
        # NNabla: g_pos where x > 0, else -g_neg (x = 0 and NaN too), and 0.0 rather than -0.0
        g_pos, g_neg = xp.split(gy, 2, axis=self.axis)
        positive = x > 0
        return where_else_zero(xp, positive, g_pos) - where_else_zero(xp, ~positive, g_neg)


@register
class CELU(PairedOnAxis):
    """y = concatenate(elu(x), elu(-x)) along ``axis``."""

    fname = "celu"
    args_spec = {"alpha": 1.0, "axis": 1}

    def half(self, xp, x):
        e = xp.exp(extreme(xp, xp.minimum, x, 0))
        e -= 1  # (as ELU: NNabla's exp(x) - 1)
        return select(xp, x >= 0, x, self.args["alpha"] * e)

    def half_grad(self, xp, x, gy):
        return select(xp, x >= 0, gy, gy * self.args["alpha"] * xp.exp(extreme(xp, xp.minimum, x, 0)))


@register
class PReLU(Function):
    """y = x for x >= 0, slope * x otherwise; the slope x1 is one scalar or one value per channel at base_axis."""

    fname = "prelu"
    inputs_spec = ("x0", "x1")
    args_spec = {"base_axis": 1}

    def output_shapes(self, xs, ws):
        if not xs:
            raise FunctionError(f"PReLU: input x0 must have at least one dimension, got shape {xs}")
        self.base_axis = normalize_axis(self, self.args["base_axis"], len(xs), "base_axis")
        size = 1
        for d in ws:
            size *= d
        if size != 1 and tuple(ws) != (xs[self.base_axis],):
            raise FunctionError(
                f"PReLU: slope x1 of shape {ws} must be a scalar or have shape ({xs[self.base_axis]},) "
                f"(x0 of shape {xs}, base_axis={self.args['base_axis']})"
            )
        return [xs]

    def _slope(self, x, w):
        if w.size == 1:
            return w.reshape(())
        return w.reshape((-1,) + (1,) * (x.ndim - self.base_axis - 1))

    def compute(self, xp, x, w):
        return select(xp, x >= 0, x, x * self._slope(x, w))

    def grad(self, xp, xs, ys, gys, need):
        x, w = xs
        gy = gys[0]
        gx = select(xp, x >= 0, gy, gy * self._slope(x, w)) if need[0] else None
        gw = None
        if need[1]:
            contrib = where_else_zero(xp, x < 0, gy * x)
            if w.size == 1:
                gw = contrib.sum(keepdims=True).reshape(w.shape)  # an array, not a numpy scalar: it is added into
            else:
                axes = tuple(i for i in range(x.ndim) if i != self.base_axis)
                gw = contrib.sum(axis=axes).reshape(w.shape)
        return gx, gw


@register
class SoftPlus(Unary):
    """y = log(1 + exp(beta * x)) / beta."""

    fname = "softplus"
    args_spec = {"beta": 1.0}

    def compute(self, xp, x):
        beta = self.args["beta"]
        return _softplus(xp, beta * x) / beta

    def backward_unary(self, xp, x, y, gy):
        return gy * _sigmoid(xp, self.args["beta"] * x)


@register
class SoftSign(Unary):
    """y = x / (1 + |x|)."""

    fname = "softsign"

    def compute(self, xp, x):
        return x / (1 + xp.abs(x))

    def backward_unary(self, xp, x, y, gy):
        return gy / (1 + xp.abs(x)) ** 2


@register
class Swish(Unary):
    """y = x * sigmoid(x)."""

    grad_uses = "xy"

    def compute(self, xp, x):
        return x * _sigmoid(xp, x)

    def backward_unary(self, xp, x, y, gy):
        return gy * (y + _sigmoid(xp, x) * (1 - y))


_GELU_C = float(np.sqrt(2 / np.pi))


@register
class GELU(Unary):
    """y = x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))), NNabla's tanh approximation."""

    fname = "gelu"

    def compute(self, xp, x):
        return x / 2 * (1 + xp.tanh(_GELU_C * (x + 0.044715 * x**3)))

    def backward_unary(self, xp, x, y, gy):
        t = xp.tanh(_GELU_C * (x + 0.044715 * x**3))
        return gy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 0.134145 * x * x))


@register
class Mish(Unary):
    """y = x * tanh(softplus(x))."""

    double_backward = False  # as in NNabla

    def compute(self, xp, x):
        return x * xp.tanh(_softplus(xp, x))

    def backward_unary(self, xp, x, y, gy):
        t = xp.tanh(_softplus(xp, x))
        return gy * (t + x * (1 - t * t) * _sigmoid(xp, x))


@register
class ReLU6(Unary):
    """y = min(max(x, 0), 6)."""

    fname = "relu6"

    def compute(self, xp, x):
        return xp.clip(x, 0, 6)

    def backward_unary(self, xp, x, y, gy):
        return gy * ((x > 0) & (x < 6))


@register
class HardSigmoid(Unary):
    """y = clip(0.2 x + 0.5, 0, 1)."""

    def compute(self, xp, x):
        return xp.clip(0.2 * x + 0.5, 0, 1)

    def backward_unary(self, xp, x, y, gy):
        return gy * 0.2 * ((x >= -2.5) & (x <= 2.5))


@register
class HardTanh(Unary):
    """y = clip(x, -1, 1)."""

    def compute(self, xp, x):
        return xp.clip(x, -1, 1)

    def backward_unary(self, xp, x, y, gy):
        return gy * ((x >= -1) & (x <= 1))


@register
class LogSigmoid(Unary):
    """y = log(sigmoid(x)) = -softplus(-x)."""

    def compute(self, xp, x):
        return -_softplus(xp, -x)

    def backward_unary(self, xp, x, y, gy):
        return gy * _sigmoid(xp, -x)


@register
class TanhShrink(Unary):
    """y = x - tanh(x)."""

    def compute(self, xp, x):
        return x - xp.tanh(x)

    def backward_unary(self, xp, x, y, gy):
        return gy * xp.tanh(x) ** 2


@register
class BinaryTanh(Unary):
    """y = 1 for x > 0, -1 otherwise; backward passes gy straight through where |x| < 1."""

    def compute(self, xp, x):
        return xp.where(x > 0, 1, -1).astype(x.dtype)

    def backward_unary(self, xp, x, y, gy):
        return gy * (xp.abs(x) < 1)


@register
class BinarySigmoid(Unary):
    """y = 1 for x > 0, 0 otherwise; backward passes gy / 2 straight through where |x| < 1."""

    def compute(self, xp, x):
        return (x > 0).astype(x.dtype)

    def backward_unary(self, xp, x, y, gy):
        return gy * 0.5 * (xp.abs(x) < 1)


@register
class Sinc(Unary):
    """y = sin(x) / x, and 1 at x = 0."""

    def compute(self, xp, x):
        safe = xp.where(x == 0, 1, x)
        return xp.where(x == 0, 1, xp.sin(safe) / safe)

    def backward_unary(self, xp, x, y, gy):
        safe = xp.where(x == 0, 1, x)
        return xp.where(x == 0, 0, gy * (xp.cos(safe) - xp.sin(safe) / safe) / safe)
