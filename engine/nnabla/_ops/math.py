"""Math: elementwise exp/log/trigonometric/hyperbolic functions, rounding with straight-through gradients,
NaN/Inf handling, gradient clipping, p-norms, and F.clip_by_value composed from Maximum/Minimum."""

from __future__ import annotations

import math

import numpy as np

from ..function import Function, FunctionError, apply, register
from ._base import Binary, NoGrad, Unary, negated_where, normalize_axes


@register
class Exp(Unary):
    """y = exp(x)."""

    grad_uses = "y"

    def compute(self, xp, x):
        return xp.exp(x)

    def backward_unary(self, xp, x, y, gy):
        return gy * y


@register
class Log(Unary):
    """y = log(x)."""

    def compute(self, xp, x):
        return xp.log(x)

    def backward_unary(self, xp, x, y, gy):
        return gy / x


@register
class Abs(Unary):
    """y = |x|."""

    def compute(self, xp, x):
        return xp.abs(x)

    def backward_unary(self, xp, x, y, gy):
        return negated_where(xp, x < 0, gy)


class StraightThrough(Unary):
    """A step-shaped function whose backward passes gy through unchanged (NNabla's straight-through estimator)."""

    grad_uses = ""

    def backward_unary(self, xp, x, y, gy):
        return gy


@register
class Sign(StraightThrough):
    """y = 1 for x > 0, -1 for x < 0, alpha at 0; gradient passes straight through."""

    args_spec = {"alpha": 1.0}

    def compute(self, xp, x):
        return xp.where(x > 0, 1, xp.where(x < 0, -1, self.args["alpha"])).astype(x.dtype)


@register
class Round(StraightThrough):
    """y = x rounded to the nearest integer, halves away from zero; gradient passes straight through."""

    def compute(self, xp, x):
        whole = xp.trunc(x)
        # numpy rounds halves to even; NNabla (std::round) rounds them away from zero
        return xp.where(xp.abs(x - whole) == 0.5, whole + xp.sign(x), xp.round(x))


@register
class Ceil(StraightThrough):
    """y = ceil(x); gradient passes straight through."""

    def compute(self, xp, x):
        return xp.ceil(x)


@register
class Floor(StraightThrough):
    """y = floor(x); gradient passes straight through."""

    def compute(self, xp, x):
        return xp.floor(x)


@register
class Identity(Unary):
    """y = x."""

    grad_uses = ""

    def compute(self, xp, x):
        return x.copy()

    def backward_unary(self, xp, x, y, gy):
        return gy


@register
class Sin(Unary):
    """y = sin(x)."""

    def compute(self, xp, x):
        return xp.sin(x)

    def backward_unary(self, xp, x, y, gy):
        return gy * xp.cos(x)


@register
class Cos(Unary):
    """y = cos(x)."""

    def compute(self, xp, x):
        return xp.cos(x)

    def backward_unary(self, xp, x, y, gy):
        return -gy * xp.sin(x)


@register
class Tan(Unary):
    """y = tan(x)."""

    def compute(self, xp, x):
        return xp.tan(x)

    def backward_unary(self, xp, x, y, gy):
        return gy / xp.cos(x) ** 2


@register
class ASin(Unary):
    """y = arcsin(x)."""

    fname = "asin"

    def compute(self, xp, x):
        return xp.arcsin(x)

    def backward_unary(self, xp, x, y, gy):
        return gy / xp.sqrt(1 - x * x)


@register
class ACos(Unary):
    """y = arccos(x)."""

    fname = "acos"

    def compute(self, xp, x):
        return xp.arccos(x)

    def backward_unary(self, xp, x, y, gy):
        return -gy / xp.sqrt(1 - x * x)


@register
class ATan(Unary):
    """y = arctan(x)."""

    fname = "atan"

    def compute(self, xp, x):
        return xp.arctan(x)

    def backward_unary(self, xp, x, y, gy):
        return gy / (1 + x * x)


@register
class ATan2(Binary):
    """y = arctan(x0 / x1), in the quadrant given by the signs of x0 and x1."""

    fname = "atan2"

    def compute(self, xp, x0, x1):
        return xp.arctan2(x0, x1)

    def backward_binary(self, xp, x0, x1, y, gy):
        r2 = x0 * x0 + x1 * x1
        return gy * x1 / r2, -gy * x0 / r2


@register
class Sinh(Unary):
    """y = sinh(x)."""

    def compute(self, xp, x):
        return xp.sinh(x)

    def backward_unary(self, xp, x, y, gy):
        return gy * xp.cosh(x)


@register
class Cosh(Unary):
    """y = cosh(x)."""

    def compute(self, xp, x):
        return xp.cosh(x)

    def backward_unary(self, xp, x, y, gy):
        return gy * xp.sinh(x)


@register
class ASinh(Unary):
    """y = arcsinh(x)."""

    fname = "asinh"

    def compute(self, xp, x):
        return xp.arcsinh(x)

    def backward_unary(self, xp, x, y, gy):
        return gy / xp.sqrt(x * x + 1)


@register
class ACosh(Unary):
    """y = arccosh(x)."""

    fname = "acosh"

    def compute(self, xp, x):
        return xp.arccosh(x)

    def backward_unary(self, xp, x, y, gy):
        return gy / xp.sqrt(x * x - 1)


@register
class ATanh(Unary):
    """y = arctanh(x)."""

    fname = "atanh"

    def compute(self, xp, x):
        return xp.arctanh(x)

    def backward_unary(self, xp, x, y, gy):
        return gy / (1 - x * x)


def special(xp):
    """The special-function module that matches the array module: scipy.special for numpy, cupyx's for cupy."""
    if xp is np:
        import scipy.special

        return scipy.special
    import cupyx.scipy.special

    return cupyx.scipy.special


@register
class Erf(Unary):
    """y = erf(x), the Gauss error function."""

    def compute(self, xp, x):
        return special(xp).erf(x)

    def backward_unary(self, xp, x, y, gy):
        return gy * (2 / math.sqrt(math.pi)) * xp.exp(-x * x)


@register
class ResetNaN(Unary):
    """y = val where x is NaN, x elsewhere; no gradient flows through the replaced elements."""

    double_backward = False  # as in NNabla

    fname = "reset_nan"
    inputs_spec = ("x0",)
    args_spec = {"val": 0}

    def compute(self, xp, x):
        return xp.where(xp.isnan(x), self.args["val"], x)

    def backward_unary(self, xp, x, y, gy):
        return xp.where(xp.isnan(x), 0, gy)


@register
class ResetInf(Unary):
    """y = val where x is +-Inf, x elsewhere; no gradient flows through the replaced elements."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x0",)
    args_spec = {"val": 0}

    def compute(self, xp, x):
        return xp.where(xp.isinf(x), self.args["val"], x)

    def backward_unary(self, xp, x, y, gy):
        return xp.where(xp.isinf(x), 0, gy)


@register
class IsNaN(NoGrad):
    """y = 1 where x is NaN, 0 elsewhere."""

    fname = "isnan"
    inputs_spec = ("x0",)

    def compute(self, xp, x):
        return xp.isnan(x).astype(x.dtype)


@register
class IsInf(NoGrad):
    """y = 1 where x is +-Inf, 0 elsewhere."""

    fname = "isinf"
    inputs_spec = ("x0",)

    def compute(self, xp, x):
        return xp.isinf(x).astype(x.dtype)


@register
class ClipGradByValue(Function):
    """y = x; backward clips each element of the gradient into [min, max] (same shape as x)."""

    inputs_spec = ("x", "min", "max")

    def output_shapes(self, xs, mins, maxs):
        for name, s in (("min", mins), ("max", maxs)):
            if tuple(s) != tuple(xs):
                raise FunctionError(f"ClipGradByValue: input {name} of shape {s} must have the shape of x {xs}")
        return [xs]

    def compute(self, xp, x, lo, hi):
        return x.copy()

    def grad(self, xp, xs, ys, gys, need):
        _, lo, hi = xs
        gx = xp.where(gys[0] > hi, hi, xp.where(gys[0] < lo, lo, gys[0])) if need[0] else None
        # min and max get no gradient: zeros, as NNabla writes
        return gx, xp.zeros_like(lo) if need[1] else None, xp.zeros_like(hi) if need[2] else None


def _reduction_axes(func, axes, ndim):
    """Sorted, normalized axes; None means all of them."""
    if axes is None:
        return tuple(range(ndim))
    return normalize_axes(func, axes, ndim)


@register
class ClipGradByNorm(Unary):
    """y = x; backward rescales the gradient to L2 norm clip_norm over ``axes`` (all axes by default)."""

    args_spec = {"clip_norm": None, "axes": None}
    grad_uses = ""

    def init(self):
        if self.args["clip_norm"] is None:
            self.args["clip_norm"] = 1.0

    def output_shapes(self, shape):
        self.axes = _reduction_axes(self, self.args["axes"], len(shape))
        return [shape]

    def compute(self, xp, x):
        return x.copy()

    def backward_unary(self, xp, x, y, gy):
        norm = xp.sqrt((gy * gy).sum(axis=self.axes, keepdims=True))
        return self.args["clip_norm"] * gy / norm


class PNorm(Function):
    """Shared by Norm and NormNormalization: (sum |x|^p over axes)^(1/p) and its derivative."""

    def init(self):
        if self.args["p"] is None:
            self.args["p"] = 2.0

    def _check(self, shape):
        p = self.args["p"]
        if p < 1:
            raise FunctionError(f"{self.type_name}: p={p} must be greater than or equal to 1")
        self.axes = _reduction_axes(self, self.args["axes"], len(shape))

    def norm(self, xp, x):
        p = float(self.args["p"])
        return ((xp.abs(x) ** p).sum(axis=self.axes, keepdims=True)) ** (1 / p)

    def norm_grad(self, xp, x, n, gn):
        """d(norm)/dx times gn, with n and gn kept as size-1 reduced axes."""
        p = float(self.args["p"])
        # the sign of 0 counts as +1, as NNabla's Abs backward does
        sign = xp.where(x < 0, -1, 1)
        return gn * n ** (1 - p) * xp.abs(x) ** (p - 1) * sign


@register
class Norm(PNorm):
    """y = (sum |x|^p over axes)^(1/p) (NNabla's Norm; F.norm takes ``axis`` and ``keepdims``)."""

    args_spec = {"p": None, "axes": None, "keep_dims": False}
    grad_uses = "x"

    def output_shapes(self, shape):
        self._check(shape)
        if self.args["keep_dims"]:
            return [tuple(1 if i in self.axes else n for i, n in enumerate(shape))]
        return [tuple(n for i, n in enumerate(shape) if i not in self.axes)]

    def compute(self, xp, x):
        y = self.norm(xp, x)
        return y if self.args["keep_dims"] else y.reshape(tuple(n for i, n in enumerate(x.shape) if i not in self.axes))

    def grad(self, xp, xs, ys, gys, need):
        x = xs[0]
        kept = tuple(1 if i in self.axes else n for i, n in enumerate(x.shape))
        return (self.norm_grad(xp, x, self.norm(xp, x), gys[0].reshape(kept)),)


@register
class NormNormalization(PNorm):
    """y = x / ||x||_p over axes (eps is kept as an argument; NNabla's computation does not use it)."""

    args_spec = {"p": None, "axes": None, "eps": 1e-12}

    def output_shapes(self, shape):
        self._check(shape)
        return [shape]

    def compute(self, xp, x):
        return x / self.norm(xp, x)

    def grad(self, xp, xs, ys, gys, need):
        x, gy = xs[0], gys[0]
        n = self.norm(xp, x)
        g_norm = (-gy * x / (n * n)).sum(axis=self.axes, keepdims=True)
        return (gy / n + self.norm_grad(xp, x, n, g_norm),)


def norm(x, p=None, axis=None, keepdims=False):
    """p-norm of x over ``axis`` (all axes when None); p defaults to 2 (NNabla's F.norm)."""
    return apply(Norm(None, p=p, axes=axis, keep_dims=keepdims), (x,))


def clip_by_value(x, min, max):  # noqa: A002 - NNabla's argument names
    """y = min(max(x, min), max), where min and max are each a float or a Variable/NdArray shaped like x."""
    from .._array import NdArray
    from .._variable import Variable
    from .arithmetic import Maximum2, MaximumScalar, Minimum2, MinimumScalar

    bounds = []
    for name, bound, scalar_cls, array_cls in (
        ("min", min, MaximumScalar, Maximum2),
        ("max", max, MinimumScalar, Minimum2),
    ):
        if np.isscalar(bound):
            bounds.append((scalar_cls(None, val=bound), ()))
        elif isinstance(bound, (Variable, NdArray)):
            bounds.append((array_cls(None), (bound,)))
        else:
            raise TypeError(f"clip_by_value: {name} must be a Variable, NdArray, or scalar, got {type(bound).__name__}")
    y = x
    for func, extra in bounds:
        y = apply(func, (y,) + extra)
    return y


def clip_by_norm(x, clip_norm, axis=None):
    """y = clip_norm * x / max(||x||_2, clip_norm), the norm over ``axis`` (all axes by default); a composition."""
    from .. import functions as F
    from .._array import NdArray
    from .._variable import Variable

    if axis is None:
        axis = range(len(x.shape))
    elif not hasattr(axis, "__iter__"):
        axis = [axis]
    norm = F.pow_scalar(F.sum(x**2.0, tuple(axis), True), 0.5)
    if isinstance(clip_norm, (Variable, NdArray)):
        return x * clip_norm / F.maximum2(norm, clip_norm)
    if clip_norm <= 0:
        raise ValueError(f"clip_by_norm: clip_norm must be positive, got {clip_norm}")
    return x * clip_norm / F.maximum_scalar(norm, clip_norm)


PUBLIC = {"norm": norm, "clip_by_value": clip_by_value, "clip_by_norm": clip_by_norm}
