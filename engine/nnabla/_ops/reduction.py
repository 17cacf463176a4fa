"""Reductions: Sum, Mean, Max, Min, Prod over axes, the whole-array ReduceSum/ReduceMean, and the scans
CumSum/CumProd along one axis."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..function import Function, FunctionError, apply, register
from ._base import first_equal, normalize_axes, normalize_axis


class AxesReduction(Function):
    """Reduce over ``axes`` (all when empty), keeping them as size 1 when ``keep_dims``."""

    args_spec = {"axes": None, "keep_dims": False}

    def output_shapes(self, shape):
        axes = self.args["axes"]
        if axes is None:
            axes = range(len(shape))
        self.axes = normalize_axes(self, axes, len(shape))
        if self.args["keep_dims"]:
            return [tuple(1 if i in self.axes else n for i, n in enumerate(shape))]
        return [tuple(n for i, n in enumerate(shape) if i not in self.axes)]

    def _expand(self, xp, g, shape):
        """Reshape a reduced gradient so it broadcasts against the input."""
        return g.reshape(tuple(1 if i in self.axes else n for i, n in enumerate(shape)))


@register
class Sum(AxesReduction):
    """y = sum of x over ``axes``."""

    grad_uses = ""

    def compute(self, xp, x):
        return x.sum(axis=self.axes, keepdims=self.args["keep_dims"])

    def grad(self, xp, xs, ys, gys, need):
        shape = self._in_shape
        return (xp.broadcast_to(self._expand(xp, gys[0], shape), shape),)

    def output_shapes(self, shape):
        self._in_shape = shape
        return super().output_shapes(shape)


@register
class Mean(Sum):
    """y = mean of x over ``axes``."""

    def compute(self, xp, x):
        return x.mean(axis=self.axes, keepdims=self.args["keep_dims"])

    def grad(self, xp, xs, ys, gys, need):
        shape = self._in_shape
        count = 1
        for a in self.axes:
            count *= shape[a]
        return (xp.broadcast_to(self._expand(xp, gys[0], shape) / count, shape),)


@register
class ReduceSum(Function):
    """y = sum of all elements of x (a scalar)."""

    double_backward = False  # as in NNabla

    grad_uses = ""

    def output_shapes(self, shape):
        self._in_shape = shape
        return [()]

    def compute(self, xp, x):
        return x.sum()

    def grad(self, xp, xs, ys, gys, need):
        gx = xp.empty(self._in_shape, gys[0].dtype)
        gx[...] = gys[0]  # a filled array: cheaper than broadcast_to for the small inputs losses have
        return (gx,)


@register
class ReduceMean(ReduceSum):
    """y = mean of all elements of x (a scalar)."""

    def compute(self, xp, x):
        if x.dtype.itemsize < 4:
            return x.mean()  # half precision: numpy accumulates in float32
        # numpy's mean of a whole array, without its Python-level wrapper: the sum divided in float64
        return xp.asarray(xp.add.reduce(x, None) / xp.float64(x.size), x.dtype)

    def output_shapes(self, shape):
        count = 1
        for d in shape:
            count *= d
        self._count = count
        return super().output_shapes(shape)

    def grad(self, xp, xs, ys, gys, need):
        gx = xp.empty(self._in_shape, gys[0].dtype)
        xp.divide(gys[0], self._count, out=gx)
        return (gx,)


def _axes(axis):
    if axis is None:
        return None
    return [axis] if isinstance(axis, int) or not hasattr(axis, "__iter__") else list(axis)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - NNabla's name
    """Sum over ``axis`` (all axes when None)."""
    return apply(Sum(None, axes=_axes(axis), keep_dims=keepdims), (x,))


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (all axes when None)."""
    return apply(Mean(None, axes=_axes(axis), keep_dims=keepdims), (x,))


FIRST_BY_PASSES_UP_TO = 64  # lanes (reduced elements per output) up to which the first extreme is found by passes


def _first_extreme(xp, lanes, extreme, arg):
    """``arg(lanes, axis=-1)``: each lane's first maximum (or minimum). numpy's argmax takes about 3 ns an element
    on short lanes, where its max is vectorized: on numpy, for float lanes of at most ``FIRST_BY_PASSES_UP_TO``
    elements, the extreme first, then the first position equal to it (``first_equal``); a lane holding a NaN
    (argmax picks its first NaN) goes to argmax."""
    n = lanes.shape[-1]
    if xp is not np or lanes.dtype.kind != "f" or not 1 < n <= FIRST_BY_PASSES_UP_TO or lanes.size == 0:
        return arg(lanes, axis=-1)
    best = extreme(lanes, axis=-1)
    if xp.isnan(best).any():
        return arg(lanes, axis=-1)
    index = first_equal(xp, [lanes[..., i] for i in range(n)], best, xp.empty(best.shape, np.uint8))
    return index.astype(np.intp)


class IndexedReduction(AxesReduction):
    """Max/Min over ``axes``, optionally also returning the flat index of the pick within the reduced axes."""

    args_spec = {"axes": None, "keep_dims": False, "with_index": False, "only_index": False}

    def init(self):
        if self.args["only_index"]:
            self.differentiable = False

    def output_shapes(self, shape):
        self._in_shape = shape
        (out,) = super().output_shapes(shape)
        self._out_shape = out
        if any(shape[a] == 0 for a in self.axes):  # no element to pick, as numpy's argmax says at forward
            raise FunctionError(f"{self.type_name}: axes {self.axes} of x of shape {shape} hold no element to pick")
        if self.args["with_index"] and not self.args["only_index"]:
            return [out, out]
        return [out]

    def _lanes(self, x):
        """x with its reduced axes moved last and merged into one: shape (kept..., reduced)."""
        kept = [i for i in range(x.ndim) if i not in self.axes]
        reduced = math.prod(x.shape[a] for a in self.axes)  # explicit: -1 is undefined for a zero-size x
        return x.transpose(kept + list(self.axes)).reshape(tuple(x.shape[i] for i in kept) + (reduced,))

    def pick(self, xp, lanes):
        raise NotImplementedError

    def compute(self, xp, x):
        lanes = self._lanes(x)
        index = self.pick(xp, lanes)
        out_index = index.astype(xp.uint64).reshape(self._out_shape)
        if self.args["only_index"]:
            return out_index
        y = xp.take_along_axis(lanes, index[..., None], -1)[..., 0].reshape(self._out_shape)
        return (y, out_index) if self.args["with_index"] else y

    def select(self, xp, xs, u):
        """u at the picked positions of x: the derivative of the output along u (double backward)."""
        index = self.pick(xp, self._lanes(xs[0]))
        return xp.take_along_axis(self._lanes(u), index[..., None], -1)[..., 0].reshape(self._out_shape)

    def grad(self, xp, xs, ys, gys, need):
        if self.args["only_index"]:
            return (None,)
        x = xs[0]
        lanes = self._lanes(x)
        index = self.pick(xp, lanes)
        hit = xp.arange(lanes.shape[-1]) == index[..., None]
        g_lanes = hit * gys[0].reshape(index.shape)[..., None]
        kept = [i for i in range(x.ndim) if i not in self.axes]
        order = kept + list(self.axes)
        g = g_lanes.reshape(tuple(x.shape[i] for i in order))
        inverse = [order.index(i) for i in range(x.ndim)]
        return (g.transpose(inverse),)


@register
class Max(IndexedReduction):
    """y = max of x over ``axes`` (ties: the first one); the gradient goes to that element."""

    def pick(self, xp, lanes):
        return _first_extreme(xp, lanes, xp.max, xp.argmax)


@register
class Min(IndexedReduction):
    """y = min of x over ``axes`` (ties: the first one); the gradient goes to that element."""

    def pick(self, xp, lanes):
        return _first_extreme(xp, lanes, xp.min, xp.argmin)


@register
class Prod(AxesReduction):
    """y = product of x over ``axes``; as NNabla, dx = dy * y / x, taken as 0 where x is 0."""

    grad_uses = "xy"

    def compute(self, xp, x):
        return x.prod(axis=self.axes, keepdims=self.args["keep_dims"])

    def grad(self, xp, xs, ys, gys, need):
        x = xs[0]
        gy_y = self._expand(xp, gys[0] * ys[0], x.shape)
        nonzero = x != 0
        return (xp.where(nonzero, gy_y / xp.where(nonzero, x, 1), 0),)


def _scan(xp, x, axis, op, exclusive, reverse):
    """Cumulative ``op`` ("sum" or "prod") along ``axis``, NNabla's exclusive/reverse conventions."""
    if reverse:
        x = xp.flip(x, axis)
    y = xp.cumsum(x, axis=axis) if op == "sum" else xp.cumprod(x, axis=axis)
    if exclusive:
        head = [slice(None)] * x.ndim
        head[axis] = slice(0, 1)
        body = list(head)
        body[axis] = slice(0, -1)
        identity = xp.zeros_like(y[tuple(head)]) if op == "sum" else xp.ones_like(y[tuple(head)])
        y = xp.concatenate((identity, y[tuple(body)]), axis=axis)
    return xp.flip(y, axis) if reverse else y


class Scan(Function):
    """Cumulative reduction along ``axis``; ``exclusive`` leaves out the element itself, ``reverse`` runs back."""

    args_spec = {"axis": 0, "exclusive": False, "reverse": False}
    signature_defaults = {"axis": None}

    def output_shapes(self, shape):
        if not shape:
            raise FunctionError(f"{self.type_name}: input x must have at least one dimension, got shape {shape}")
        self.axis = normalize_axis(self, self.args["axis"], len(shape))
        return [shape]

    def scan(self, xp, x, op, reverse=None):
        reverse = self.args["reverse"] if reverse is None else reverse
        return _scan(xp, x, self.axis, op, self.args["exclusive"], reverse)


@register
class CumSum(Scan):
    """y = cumulative sum of x along ``axis``."""

    linear_inputs = (0,)

    fname = "cumsum"
    grad_uses = ""

    def compute(self, xp, x):
        return self.scan(xp, x, "sum")

    def grad(self, xp, xs, ys, gys, need):
        # each x_j feeds the outputs after it, so its gradient is the same scan run the other way
        return (self.scan(xp, gys[0], "sum", reverse=not self.args["reverse"]),)


@register
class CumProd(Scan):
    """y = cumulative product of x along ``axis``; the gradient is exact at zeros (NNabla's masked scheme)."""

    double_backward = False  # as in NNabla

    fname = "cumprod"

    def compute(self, xp, x):
        return self.scan(xp, x, "prod")

    def grad(self, xp, xs, ys, gys, need):
        x, gy, axis = xs[0], gys[0], self.axis
        exclusive, reverse = self.args["exclusive"], self.args["reverse"]
        # Dividing the scanned product by x_i fails at zeros. Only the first zero of a lane (in scan order)
        # gets a gradient of its own; it is masked to 1 in the product, and the elements before it see
        # only the outputs up to it.
        zero = x == 0
        zeros_so_far = _scan(xp, zero.astype(xp.int64), axis, "sum", False, reverse)
        before_first = zeros_so_far == 0
        first = zero & (zeros_so_far == 1)
        masked = _scan(xp, xp.where(first, 1, x), axis, "prod", exclusive, reverse)
        term = masked * gy
        reached = (zeros_so_far - zero if exclusive else zeros_so_far) == 0
        upto_first = _scan(xp, xp.where(reached, term, 0), axis, "sum", exclusive, not reverse)
        after_first = _scan(xp, xp.where(reached, 0, term), axis, "sum", exclusive, not reverse)
        g = xp.where(before_first, upto_first / xp.where(before_first, x, 1), xp.where(first, after_first, 0))
        return (g,)


def _no_grad_index(outputs, index_at):
    """Index outputs are integers: they never carry a gradient, even when the values do."""
    if isinstance(outputs, tuple) and hasattr(outputs[index_at], "need_grad"):
        outputs[index_at].need_grad = False
    return outputs


def _indexed(cls, x, axis, keepdims, with_index, only_index):
    func = cls(None, axes=_axes(axis), keep_dims=keepdims, with_index=with_index, only_index=only_index)
    return _no_grad_index(apply(func, (x,)), 1)


def max(x, axis=None, keepdims=False, with_index=False, only_index=False):  # noqa: A001 - NNabla's name
    """Max over ``axis`` (all when None); ``with_index`` adds the argmax, ``only_index`` returns just it."""
    return _indexed(Max, x, axis, keepdims, with_index, only_index)


def min(x, axis=None, keepdims=False, with_index=False, only_index=False):  # noqa: A001 - NNabla's name
    """Min over ``axis`` (all when None); ``with_index`` adds the argmin, ``only_index`` returns just it."""
    return _indexed(Min, x, axis, keepdims, with_index, only_index)


def prod(x, axis=None, keepdims=False):
    """Product over ``axis`` (all axes when None)."""
    return apply(Prod(None, axes=_axes(axis), keep_dims=keepdims), (x,))


def reduce(x, op="sum"):
    """Whole-array ``op`` ("sum" or "mean"); deprecated in NNabla in favour of ``sum``/``mean``."""
    warnings.warn("Deprecated API. Use ``sum`` or ``mean`` instead.", DeprecationWarning, stacklevel=2)
    if op == "sum":
        return apply(ReduceSum(None), (x,))
    if op == "mean":
        return apply(ReduceMean(None), (x,))
    raise ValueError(f"reduce: op must be 'sum' or 'mean', got {op!r}")


PUBLIC = {"sum": sum, "mean": mean, "max": max, "min": min, "prod": prod, "reduce": reduce}
