"""Array manipulation: reshape, transpose, concatenate, slice, broadcast and friends."""

from __future__ import annotations

from ..function import Function, FunctionError, register


@register
class Reshape(Function):
    """y = x with a new shape (one entry may be -1)."""

    args_spec = {"shape": (), "inplace": True}
    grad_uses = ""

    def output_shapes(self, shape):
        target = list(self.args["shape"])
        size = 1
        for d in shape:
            size *= d
        if target.count(-1) > 1:
            raise FunctionError(f"Reshape: at most one -1 allowed in shape {tuple(target)}")
        if -1 in target:
            known = 1
            for d in target:
                if d != -1:
                    known *= d
            if known == 0 or size % known:
                raise FunctionError(f"Reshape: cannot reshape input of shape {shape} to {tuple(target)}")
            target[target.index(-1)] = size // known
        total = 1
        for d in target:
            total *= d
        if total != size:
            raise FunctionError(f"Reshape: cannot reshape input of shape {shape} ({size} elements) to {tuple(target)}")
        self._in_shape = shape
        return [tuple(target)]

    def compute(self, xp, x):
        return x.reshape(self.output_shapes(x.shape)[0])

    def grad(self, xp, xs, ys, gys, need):
        return (gys[0].reshape(xs[0].shape),)
