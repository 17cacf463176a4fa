"""Linear maps: Affine (fully connected) and BatchMatmul."""

from __future__ import annotations

import math

from ..function import Function, FunctionError, register
from ._blas import one_blas_thread, serial_pays


@register
class Affine(Function):
    """y = x W + b, with x flattened to (prod(shape[:base_axis]), prod(shape[base_axis:]))."""

    linear_inputs, bilinear, additive_inputs = (0, 1), True, (2,)

    inputs_spec = ("x", "weight", "bias?")
    args_spec = {"base_axis": 1}

    def output_shapes(self, xs, ws, bs=None):
        # as NNabla, a negative base_axis counts from the end, within [-ndim, ndim)
        if not -len(xs) <= self.args["base_axis"] < len(xs):
            raise FunctionError(
                f"Affine: base_axis={self.args['base_axis']} is out of range for input x of shape {xs} "
                f"(it must be in [{-len(xs)}, {len(xs)}))"
            )
        ba = self.base_axis = self.args["base_axis"] % len(xs)
        inner = 1
        for d in xs[ba:]:
            inner *= d
        if not ws or ws[0] != inner:
            raise FunctionError(
                f"Affine: input x of shape {xs} (base_axis={ba}, {inner} features) does not match "
                f"weight of shape {ws} (expects {ws[0] if ws else '?'} features)"
            )
        out = tuple(ws[1:])
        if bs is not None and tuple(bs) != out:
            raise FunctionError(f"Affine: bias of shape {bs} does not match weight of shape {ws} (expects {out})")
        # the common case, computed without reshapes (every path to compute and grad sets shapes up first)
        self._matrix = ba == 1 and len(xs) == 2 and len(ws) == 2
        # (the products forward and backward have one size: rows by features by units)
        self._serial = serial_pays(math.prod(xs[:ba]) * inner * math.prod(ws[1:]))
        return [tuple(xs[:ba]) + out]

    _matrix = False  # set from the shapes by output_shapes
    _serial = False  # and whether its products run on one BLAS thread

    def compute(self, xp, x, w, b=None):
        if self._serial:
            with one_blas_thread(xp):
                return self._compute(xp, x, w, b)
        return self._compute(xp, x, w, b)

    def _compute(self, xp, x, w, b=None):
        if self._matrix:
            y = x @ w
            if b is not None:
                y += b
            return y
        lead = x.shape[: self.base_axis]
        y = x.reshape(-1, w.shape[0]) @ w.reshape(w.shape[0], -1)
        if b is not None:
            y += b.reshape(-1)
        return y.reshape(lead + w.shape[1:])

    grad_into = True

    def grad(self, xp, xs, ys, gys, need, outs=None):
        if self._serial:
            with one_blas_thread(xp):
                return self._grad(xp, xs, ys, gys, need, outs)
        return self._grad(xp, xs, ys, gys, need, outs)

    def _grad(self, xp, xs, ys, gys, need, outs=None):
        x, w = xs[0], xs[1]
        if self._matrix:
            gy = gys[0]
            gx = gy @ w.T if need[0] else None
            if outs is None:
                gw = x.T @ gy if need[1] else None
                if len(xs) > 2:
                    return gx, gw, xp.add.reduce(gy, 0) if need[2] else None  # gy.sum(axis=0) without its wrapper
                return gx, gw
            gw = xp.matmul(x.T, gy, outs[1]) if need[1] else None  # out given by position: a faster call
            if len(xs) > 2:
                return gx, gw, xp.add.reduce(gy, 0, None, outs[2]) if need[2] else None
            return gx, gw
        k = w.shape[0]
        units = 1
        for d in w.shape[1:]:
            units *= d
        gy = gys[0].reshape(-1, units)
        gx = (gy @ w.reshape(k, units).T).reshape(x.shape) if need[0] else None
        gw = (x.reshape(-1, k).T @ gy).reshape(w.shape) if need[1] else None
        if len(xs) > 2:
            gb = gy.sum(axis=0).reshape(xs[2].shape) if need[2] else None
            return gx, gw, gb
        return gx, gw

    def grad_depends_input_data(self, i, j):
        return (i, j) in ((0, 1), (1, 0))  # dx reads W, dW reads x, db reads neither
