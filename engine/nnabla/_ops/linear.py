"""Linear maps: Affine (fully connected) and BatchMatmul."""

from __future__ import annotations

from ..function import Function, FunctionError, register


@register
class Affine(Function):
    """y = x W + b, with x flattened to (prod(shape[:base_axis]), prod(shape[base_axis:]))."""

    inputs_spec = ("x", "weight", "bias?")
    args_spec = {"base_axis": 1}

    def output_shapes(self, xs, ws, bs=None):
        ba = self.args["base_axis"]
        if not 0 <= ba <= len(xs):
            raise FunctionError(f"Affine: base_axis={ba} is out of range for input x of shape {xs}")
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
        return [tuple(xs[:ba]) + out]

    def compute(self, xp, x, w, b=None):
        ba = self.args["base_axis"]
        if ba == 1 and x.ndim == 2 and w.ndim == 2:  # the common matrix case, without reshapes
            y = x @ w
            if b is not None:
                y += b
            return y
        lead = x.shape[:ba]
        y = x.reshape(-1, w.shape[0]) @ w.reshape(w.shape[0], -1)
        if b is not None:
            y += b.reshape(-1)
        return y.reshape(lead + w.shape[1:])

    def grad(self, xp, xs, ys, gys, need):
        x, w = xs[0], xs[1]
        if self.args["base_axis"] == 1 and x.ndim == 2 and w.ndim == 2:
            gy = gys[0]
            gx = gy @ w.T if need[0] else None
            gw = x.T @ gy if need[1] else None
            if len(xs) > 2:
                return gx, gw, gy.sum(axis=0) if need[2] else None
            return gx, gw
        k = w.shape[0]
        x2 = x.reshape(-1, k)
        w2 = w.reshape(k, -1)
        gy = gys[0].reshape(x2.shape[0], w2.shape[1])
        gx = (gy @ w2.T).reshape(x.shape) if need[0] else None
        gw = (x2.T @ gy).reshape(w.shape) if need[1] else None
        if len(xs) > 2:
            gb = gy.sum(axis=0).reshape(xs[2].shape) if need[2] else None
            return gx, gw, gb
        return gx, gw
