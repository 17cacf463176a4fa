"""Softmax and LogSoftmax along one axis (the last by default), computed stably by shifting by the max."""

from __future__ import annotations

from ..function import Function, FunctionError, register
from ._base import normalize_axis


class OnAxis(Function):
    """An op along ``axis``; None (NNabla's default) means the last axis of x."""

    args_spec = {"axis": None}

    def output_shapes(self, *shapes):
        shape = shapes[0]
        if not shape:
            raise FunctionError(f"{self.type_name}: input x must have at least one dimension, got shape {shape}")
        if self.args["axis"] is None:
            self.args["axis"] = len(shape) - 1
        self.axis = normalize_axis(self, self.args["axis"], len(shape))
        return [shape]


def log_softmax(xp, x, axis):
    if x.size == 0:  # nothing to normalize (and no max to shift by)
        return x.copy()
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


@register
class Softmax(OnAxis):
    """y = exp(x) / sum(exp(x)) along ``axis``."""

    grad_uses = "y"

    def compute(self, xp, x):
        if x.size == 0:  # nothing to normalize (and no max to shift by)
            return x.copy()
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def grad(self, xp, xs, ys, gys, need):
        y, gy = ys[0], gys[0]
        return (y * (gy - (gy * y).sum(axis=self.axis, keepdims=True)),)


@register
class LogSoftmax(OnAxis):
    """y = x - log(sum(exp(x))) along ``axis``."""

    grad_uses = "y"

    def compute(self, xp, x):
        return log_softmax(xp, x, self.axis)

    def grad(self, xp, xs, ys, gys, need):
        y, gy = ys[0], gys[0]
        return (gy - xp.exp(y) * gy.sum(axis=self.axis, keepdims=True),)
