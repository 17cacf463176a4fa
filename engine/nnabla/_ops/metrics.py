"""Metrics (no gradient): top-n error, binary error and the confusion matrix."""

from __future__ import annotations

from ..function import FunctionError, register
from ._base import NoGrad
from .loss import ClassAxis, SameShapePair


@register
class TopNError(NoGrad, ClassAxis):
    """y = 1 where the target's score is not among the ``n`` best along ``axis`` (ties count against), else 0."""

    fname = "top_n_error"
    args_spec = {"axis": None, "n": 1}
    negative_ignored = False

    def compute(self, xp, x, target):
        label = self.labels(xp, x, target)
        score = self.pick(xp, x, label)
        at_least = (x >= score).sum(axis=self.axis, keepdims=True)
        return (at_least > self.args["n"]).astype(x.dtype)


@register
class BinaryError(NoGrad, SameShapePair):
    """y = 1 where x and target fall on different sides of 0.5, else 0."""

    inputs_spec = ("x", "target")

    def compute(self, xp, x, target):
        return ((x >= 0.5) != (target >= 0.5)).astype(x.dtype)


@register
class ConfusionMatrix(NoGrad, ClassAxis):
    """y[t, p] = how many samples of true class t have p as their best score along ``axis`` (integers)."""

    negative_ignored = False

    def output_shapes(self, x_shape, t_shape):
        super().output_shapes(x_shape, t_shape)
        n = x_shape[self.axis]
        if n == 0:
            raise FunctionError(f"ConfusionMatrix: x of shape {x_shape} has no classes along axis {self.axis}")
        return [(n, n)]

    def compute(self, xp, x, target):
        label = self.labels(xp, x, target)
        n = x.shape[self.axis]
        predicted = x.argmax(axis=self.axis)
        cell = label.reshape(predicted.shape).astype(xp.int64) * n + predicted
        return xp.bincount(cell.ravel(), minlength=n * n).reshape(n, n).astype(label.dtype)
