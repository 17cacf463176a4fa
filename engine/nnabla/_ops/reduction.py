"""Reductions: Sum, Mean, Max, Min, Prod over axes, and the whole-array ReduceSum/ReduceMean."""

from __future__ import annotations

from ..function import Function, apply, register
from ._base import normalize_axis


class AxesReduction(Function):
    """Reduce over ``axes`` (all when empty), keeping them as size 1 when ``keep_dims``."""

    args_spec = {"axes": None, "keep_dims": False}

    def output_shapes(self, shape):
        axes = self.args["axes"]
        if axes is None:
            axes = range(len(shape))
        elif isinstance(axes, int):
            axes = [axes]
        self.axes = tuple(sorted({normalize_axis(self, a, len(shape), "axes") for a in axes}))
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

    grad_uses = ""

    def output_shapes(self, shape):
        self._in_shape = shape
        return [()]

    def compute(self, xp, x):
        return x.sum()

    def grad(self, xp, xs, ys, gys, need):
        return (xp.broadcast_to(gys[0], self._in_shape),)


@register
class ReduceMean(ReduceSum):
    """y = mean of all elements of x (a scalar)."""

    def compute(self, xp, x):
        return x.mean()

    def grad(self, xp, xs, ys, gys, need):
        n = 1
        for d in self._in_shape:
            n *= d
        return (xp.broadcast_to(gys[0] / n, self._in_shape),)


def _axes(axis):
    if axis is None:
        return None
    return [axis] if isinstance(axis, int) else list(axis)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - NNabla's name
    """Sum over ``axis`` (all axes when None)."""
    return apply(Sum(None, axes=_axes(axis), keep_dims=keepdims), (x,))


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (all axes when None)."""
    return apply(Mean(None, axes=_axes(axis), keep_dims=keepdims), (x,))


PUBLIC = {"sum": sum, "mean": mean}
