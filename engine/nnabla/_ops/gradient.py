"""Functions that act on the gradient path: Unlink (stops it), TopKGrad (keeps its k largest entries), VATNoise
(hands it to the noise buffer, for virtual adversarial training) and MaxPoolingBackward (max pooling's backward
as a function of its own, for higher-order gradients)."""

from __future__ import annotations

import math

from ..function import REQUIRED, Function, FunctionError, register
from ._base import normalize_axis
from .normalization import _write_back
from .pooling import MaxPooling


@register
class Unlink(Function):
    """y = x, but no gradient flows back to x (NNabla's ``F.unlink``)."""

    double_backward = False  # as in NNabla

    grad_uses = ""

    def compute(self, xp, x):
        return x.copy()

    def grad(self, xp, xs, ys, gys, need):
        return (None,)


@register
class TopKGrad(Function):
    """y = x; backward keeps, per sample (axes from ``base_axis``), only the k largest gradient entries (largest
    in magnitude with ``abs``) and zeroes the rest."""

    double_backward = False  # as in NNabla

    fname = "top_k_grad"
    args_spec = {"k": None, "abs": False, "base_axis": 1}
    signature_defaults = {"k": REQUIRED}
    grad_uses = ""

    def output_shapes(self, shape):
        base = normalize_axis(self, self.args["base_axis"], len(shape), "base_axis")
        size = 1
        for n in shape[base:]:
            size *= n
        if self.args["k"] is None or not 1 <= self.args["k"] <= size:
            raise FunctionError(f"TopKGrad: k={self.args['k']} must be in [1, {size}] (the sample size of x {shape})")
        self.base = base
        return [shape]

    def compute(self, xp, x):
        return x.copy()

    def grad(self, xp, xs, ys, gys, need):
        gy = gys[0]
        rows = gy.reshape(tuple(gy.shape[: self.base]) + (-1,))
        key = xp.abs(rows) if self.args["abs"] else rows
        top = xp.argsort(-key, axis=-1, kind="stable")[..., : self.args["k"]]
        kept = (xp.arange(rows.shape[-1]) == top[..., None]).any(axis=-2)
        return (xp.where(kept, rows, 0).reshape(gy.shape),)


@register
class VATNoise(Function):
    """y = eps * x / ||x|| per sample (axes from ``base_axis``; 1e-8 is added to the squared norm). Backward
    writes eps * dy into the DATA of the noise buffer w, as NNabla does, and gives no gradient to x or w."""

    double_backward = False  # as in NNabla

    fname = "vat_noise"
    inputs_spec = ("x", "w")
    args_spec = {"base_axis": 1, "eps": 1.0}
    grad_uses = ""

    def output_shapes(self, xs, ws):
        if tuple(xs) != tuple(ws):
            raise FunctionError(f"VATNoise: x of shape {xs} and w of shape {ws} must match")
        base = self.args["base_axis"]
        if not 1 <= base <= len(xs):
            raise FunctionError(f"VATNoise: base_axis={base} must be in [1, {len(xs)}] for x of shape {xs}")
        return [xs]

    def compute(self, xp, x, w):
        base = self.args["base_axis"]
        rows = x.reshape(tuple(x.shape[:base]) + (math.prod(x.shape[base:]),))
        scale = self.args["eps"] / xp.sqrt((rows * rows).sum(axis=-1, keepdims=True) + 1e-8)
        return (rows * scale).reshape(x.shape)

    def _input_grads(self, inputs, outputs, need):
        gy = outputs[0]._grad._get() if outputs[0] is not None and outputs[0]._grad is not None else None
        if gy is not None:
            _write_back(inputs[1], gy * self.args["eps"])
        return (None, None)


@register
class MaxPoolingBackward(MaxPooling):
    """dx = max pooling's backward: each dy routed to the first maximum of its window of x. Its own backward
    gathers the gradient at those positions for dy (x gets none)."""

    inputs_spec = ("dy", "x")
    linear_inputs = (0,)
    grad_uses = "x"  # (its gradient finds the maxima in x)

    def grad_graph(self, xs, ys, gys, need):
        from .._grad_graph import linear_grad  # linear in dy; x only picks the positions

        return [linear_grad(self, 0, xs, gys) if need[0] else None, None]

    def output_shapes(self, dys, xs):
        pooled = super().output_shapes(xs)[0]
        if tuple(dys) != tuple(pooled):
            raise FunctionError(
                f"MaxPoolingBackward: dy of shape {dys} must be the pooled shape {pooled} of x of shape {xs}"
            )
        return [xs]

    def compute(self, xp, dy, x):
        return MaxPooling.grad(self, xp, (x,), None, (dy,), (True,))[0]

    def grad(self, xp, xs, ys, gys, need):
        dy, x = xs
        if not need[0]:
            return None, None
        cols, axis = self._flat_windows(xp, x)
        first = xp.expand_dims(cols.argmax(axis=axis), axis)
        nk = len(self.args["kernel"])
        gcols = self._windows(xp, self._spatial_last(xp, gys[0]), 0)
        gcols = gcols.reshape(gcols.shape[: gcols.ndim - 2 * nk] + (-1,) + self.plan["out"])
        picked = xp.take_along_axis(gcols, first, axis=axis).squeeze(axis)
        return self._restore(xp, picked), None
