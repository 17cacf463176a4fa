"""Losses: elementwise errors, cross entropies over a class axis, and the KL divergence of multinomials."""

from __future__ import annotations

import numbers

import numpy as np

from ..function import Function, FunctionError, FunctionIndexError, FunctionTypeError, apply, register
from ._base import Binary, negated_where, normalize_axis, select, unbroadcast, where_else_zero
from .softmax import OnAxis, log_softmax


@register
class SquaredError(Binary):
    """y = (x0 - x1) ** 2."""

    def compute(self, xp, x0, x1):
        d = x0 - x1
        return d * d

    def backward_binary(self, xp, x0, x1, y, gy):
        g = 2 * gy * (x0 - x1)
        return g, -g

    def grad(self, xp, xs, ys, gys, need):
        x0, x1 = xs
        g = x0 - x1
        g *= 2 * gys[0]  # 2 * gy * (x0 - x1) without a temporary; the label's gradient only when needed
        return (
            unbroadcast(xp, g, x0.shape) if need[0] else None,
            unbroadcast(xp, -g, x1.shape) if need[1] else None,
        )


@register
class AbsoluteError(Binary):
    """y = |x0 - x1|."""

    def compute(self, xp, x0, x1):
        return xp.abs(x0 - x1)

    def backward_binary(self, xp, x0, x1, y, gy):
        g = negated_where(xp, ~(x0 - x1 > 0), gy)
        return g, -g


@register
class HuberLoss(Binary):
    """y = d ** 2 where |d| < delta, else delta * (2 |d| - delta), with d = x0 - x1."""

    args_spec = {"delta": 1.0}

    def compute(self, xp, x0, x1):
        d = xp.abs(x0 - x1)
        delta = self.args["delta"]
        return select(xp, d < delta, d * d, delta * (2 * d - delta))

    def backward_binary(self, xp, x0, x1, y, gy):
        d = x0 - x1
        delta = self.args["delta"]
        g = 2 * gy * select(xp, xp.abs(d) < delta, d, xp.sign(d) * delta)
        return g, -g


@register
class EpsilonInsensitiveLoss(Binary):
    """y = |x0 - x1| - epsilon where that is positive, else 0."""

    args_spec = {"epsilon": None}

    def init(self):
        eps = self.args["epsilon"]
        if eps is None:
            raise FunctionError("EpsilonInsensitiveLoss: argument epsilon is required")
        if isinstance(eps, (bool, str)) or not isinstance(eps, numbers.Real):
            raise FunctionTypeError(f"EpsilonInsensitiveLoss: epsilon must be a number, got {eps!r}")

    def compute(self, xp, x0, x1):
        d = xp.abs(x0 - x1)
        eps = self.args["epsilon"]
        return where_else_zero(xp, d > eps, d - eps)

    def backward_binary(self, xp, x0, x1, y, gy):
        d = x0 - x1
        eps = self.args["epsilon"]
        g = select(xp, d > eps, gy, where_else_zero(xp, d < -eps, -gy))
        return g, -g


class SameShapePair(Function):
    """Two inputs of exactly the same shape (no broadcasting), an output of that shape."""

    def output_shapes(self, s0, s1):
        if s0 != s1:
            names = [n.rstrip("?") for n in self.inputs_spec]
            raise FunctionError(
                f"{self.type_name}: inputs {names[0]} {s0} and {names[1]} {s1} must have the same shape"
            )
        return [s0]


@register
class SigmoidCrossEntropy(SameShapePair):
    """y = -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))), computed stably from the logit x.

    As in NNabla, the target is an integer label: a float target is truncated toward zero (0.7 counts as 0).
    """

    inputs_spec = ("x", "target")
    keep_dtype = (1,)

    @staticmethod
    def _label(xp, t, dtype):
        return (xp.trunc(t) if t.dtype.kind == "f" else t).astype(dtype)

    def compute(self, xp, x, t):
        # NNabla's expression, -(x (t - [x >= 0]) - log(1 + exp(x - 2 x [x >= 0]))), with its float exp and log
        # (log1p, which numpy does not vectorize on every CPU, gave other bits and took longer): an infinite
        # logit gives NaN, as in NNabla
        positive = (x >= 0).astype(x.dtype)
        with np.errstate(invalid="ignore"):
            return -(x * (self._label(xp, t, x.dtype) - positive) - xp.log(1 + xp.exp(x - 2 * x * positive)))

    def grad(self, xp, xs, ys, gys, need):
        x, t = xs
        return (gys[0] * (1 / (1 + xp.exp(-x)) - self._label(xp, t, x.dtype)) if need[0] else None, None)


@register
class BinaryCrossEntropy(SameShapePair):
    """y = -(t log x + (1 - t) log(1 - x)) for a probability x (logs clipped at the smallest normal)."""

    inputs_spec = ("x", "target")

    def compute(self, xp, x, t):
        tiny = xp.finfo(x.dtype).tiny
        return -(t * xp.log(xp.maximum(x, tiny)) + (1 - t) * xp.log(xp.maximum(1 - x, tiny)))

    def grad(self, xp, xs, ys, gys, need):
        x, t = xs
        gy = gys[0]
        tiny = xp.finfo(x.dtype).tiny
        gx = gy * (x - t) / xp.maximum(x - x * x, tiny) if need[0] else None
        gt = gy * (xp.log(xp.maximum(1 - x, tiny)) - xp.log(xp.maximum(x, tiny))) if need[1] else None
        return gx, gt


class ClassAxis(OnAxis):
    """Scores x with classes along ``axis`` and integer labels ``target`` of x's shape with 1 at ``axis``."""

    inputs_spec = ("x", "target")
    keep_dtype = (1,)
    negative_ignored = True  # a label < 0 marks an ignored sample (its loss is 0)

    def output_shapes(self, x_shape, t_shape):
        super().output_shapes(x_shape)
        expected = tuple(1 if i == self.axis else n for i, n in enumerate(x_shape))
        if tuple(t_shape) != expected:
            raise FunctionError(
                f"{self.type_name}: target must have shape {expected} (x {x_shape} with 1 at axis {self.axis}), "
                f"got target {t_shape}"
            )
        return [t_shape]

    def graph_labels(self, x, target, gy):
        """For gradient graphs: the one-hot labels, and gy with ignored samples' zeroed (non-differentiable)."""
        from .. import functions as F

        shape = [1] * len(x.shape)
        shape[self.axis] = x.shape[self.axis]
        classes = F.reshape(F.arange(0, x.shape[self.axis]), shape)
        return F.equal(target, classes), gy * F.greater_equal_scalar(target, 0)

    def labels(self, xp, x, target):
        """The labels as integers, checked against the number of classes on the host (on the device the checks
        would read the labels back on every call; NNabla's CUDA kernels do not check them either)."""
        if target.dtype.kind in "iu":
            label = target
        else:
            label = target.astype(xp.int64)
            fractional = label != target
            if xp is np and bool(fractional.any()):
                raise FunctionError(
                    f"{self.type_name}: target labels must be whole numbers (class indices), got "
                    f"{float(target[fractional].ravel()[0])!r} in target of shape {target.shape} ({target.dtype})"
                )
        n = x.shape[self.axis]
        bad = label >= n
        if not self.negative_ignored:
            bad |= label < 0
        if xp is np and bool(bad.any()):
            raise FunctionIndexError(
                f"{self.type_name}: target label {int(label[bad].ravel()[0])} is out of range for {n} classes "
                f"(x {x.shape} along axis {self.axis}, target {target.shape})"
            )
        return label

    def pick(self, xp, a, label):
        """a's entry at each label along the class axis (shape of the labels)."""
        return xp.take_along_axis(a, xp.maximum(label, 0), self.axis)

    def one_hot(self, xp, x, label):
        shape = [1] * x.ndim
        shape[self.axis] = x.shape[self.axis]
        return xp.arange(x.shape[self.axis]).reshape(shape) == label


@register
class SoftmaxCrossEntropy(ClassAxis):
    """y = -log softmax(x)[target] along ``axis`` (0 for a negative label)."""

    def compute(self, xp, x, target):
        label = self.labels(xp, x, target)
        return xp.where(label < 0, 0, -self.pick(xp, log_softmax(xp, x, self.axis), label))

    def grad(self, xp, xs, ys, gys, need):
        x, target = xs
        label = self.labels(xp, x, target)
        p = xp.exp(log_softmax(xp, x, self.axis))
        gy = xp.where(label < 0, 0, gys[0])
        return ((p - self.one_hot(xp, x, label)) * gy if need[0] else None, None)

    def grad_graph(self, xs, ys, gys, need):
        from .. import functions as F

        hot, gy = self.graph_labels(xs[0], xs[1], gys[0])
        return [(F.softmax(xs[0], axis=self.axis) - hot) * gy if need[0] else None, None]


@register
class CategoricalCrossEntropy(ClassAxis):
    """y = -log x[target] along ``axis`` for probabilities x (0 for a negative label)."""

    def compute(self, xp, x, target):
        label = self.labels(xp, x, target)
        tiny = xp.finfo(x.dtype).tiny
        return xp.where(label < 0, 0, -xp.log(xp.maximum(self.pick(xp, x, label), tiny)))

    def grad(self, xp, xs, ys, gys, need):
        x, target = xs
        label = self.labels(xp, x, target)
        tiny = xp.finfo(x.dtype).tiny
        gy = xp.where(label < 0, 0, gys[0])
        return (self.one_hot(xp, x, label) * (-gy / xp.maximum(x, tiny)) if need[0] else None, None)

    def grad_graph(self, xs, ys, gys, need):
        from .. import functions as F

        hot, gy = self.graph_labels(xs[0], xs[1], gys[0])
        tiny = float(np.finfo(self.dtype).tiny)
        return [hot * (-gy / F.maximum_scalar(xs[0], tiny)) if need[0] else None, None]


@register
class KLMultinomial(Function):
    """D = sum over the axes from ``base_axis`` of p (log p - log q): KL divergence of multinomials p and q."""

    fname = "kl_multinomial"
    inputs_spec = ("p", "q")
    args_spec = {"base_axis": 1}
    eps = 1e-8  # keeps log finite at zero probabilities, as NNabla does

    def output_shapes(self, p_shape, q_shape):
        if p_shape != q_shape:
            raise FunctionError(f"KLMultinomial: inputs p {p_shape} and q {q_shape} must have the same shape")
        self.base = normalize_axis(self, self.args["base_axis"], len(p_shape), "base_axis")
        self.axes = tuple(range(self.base, len(p_shape)))
        return [tuple(p_shape[: self.base]) + (1,)]

    def compute(self, xp, p, q):
        d = p * (xp.log(p + self.eps) - xp.log(q + self.eps))
        return d.sum(axis=self.axes).reshape(tuple(p.shape[: self.base]) + (1,))

    def grad(self, xp, xs, ys, gys, need):
        p, q = xs
        gy = gys[0].reshape(tuple(p.shape[: self.base]) + (1,) * len(self.axes))
        gp = gy * (xp.log(p + self.eps) - xp.log(q + self.eps) + 1) if need[0] else None
        gq = -gy * p / q if need[1] else None
        return gp, gq


def epsilon_insensitive_loss(x0, x1, epsilon, n_outputs=-1, outputs=None):
    """max(|x0 - x1| - epsilon, 0) elementwise (NNabla's ``F.epsilon_insensitive_loss``)."""
    return apply(EpsilonInsensitiveLoss(None, epsilon=epsilon), (x0, x1), outputs=outputs, n_outputs=n_outputs)


PUBLIC = {"epsilon_insensitive_loss": epsilon_insensitive_loss}
