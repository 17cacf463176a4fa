"""Arithmetic: two-input (Add2 ... Pow2), scalar-argument (AddScalar ... RPowScalar) and n-input forms."""

from __future__ import annotations

import math

from .. import _native
from ..function import Function, register
from ._base import Binary, Unary, broadcast_shapes, extreme
from ._blas import native_map


@register
class Add2(Binary):
    """y = x0 + x1."""

    args_spec = {"inplace": False}
    grad_uses = ""

    def compute(self, xp, x0, x1):
        out = native_map(xp, _native.add, x0, x1)  # (one pass, shared between threads, where the kernels run)
        return x0 + x1 if out is None else out

    def backward_binary(self, xp, x0, x1, y, gy):
        return gy, gy


@register
class Sub2(Binary):
    """y = x0 - x1."""

    args_spec = {"inplace": False}
    grad_uses = ""

    def compute(self, xp, x0, x1):
        return x0 - x1

    def backward_binary(self, xp, x0, x1, y, gy):
        return gy, -gy


@register
class Mul2(Binary):
    """y = x0 * x1."""

    args_spec = {"inplace": False}

    def compute(self, xp, x0, x1):
        return x0 * x1

    def backward_binary(self, xp, x0, x1, y, gy):
        return gy * x1, gy * x0


@register
class Div2(Binary):
    """y = x0 / x1."""

    args_spec = {"inplace": False}

    def compute(self, xp, x0, x1):
        return x0 / x1

    def backward_binary(self, xp, x0, x1, y, gy):
        g0 = gy / x1
        return g0, -g0 * x0 / x1


@register
class Pow2(Binary):
    """y = x0 ** x1."""

    args_spec = {"inplace": False}
    grad_uses = "xy"

    def compute(self, xp, x0, x1):
        return x0**x1

    def backward_binary(self, xp, x0, x1, y, gy):
        g0 = gy * x1 * x0 ** (x1 - 1)
        with_log = xp.log(xp.where(x0 > 0, x0, 1))
        return g0, gy * y * with_log


@register
class Maximum2(Binary):
    """y = max(x0, x1)."""

    def compute(self, xp, x0, x1):
        return xp.maximum(x0, x1)

    def backward_binary(self, xp, x0, x1, y, gy):
        m = x0 >= x1
        return gy * m, gy * ~m


@register
class Minimum2(Binary):
    """y = min(x0, x1)."""

    def compute(self, xp, x0, x1):
        return xp.minimum(x0, x1)

    def backward_binary(self, xp, x0, x1, y, gy):
        m = x0 <= x1
        return gy * m, gy * ~m


class ScalarOp(Unary):
    args_spec = {"val": 1.0}
    signature_defaults = {"val": 1}

    def init(self):
        # NNabla stores the scalar as a double: F.add_scalar(x, 2).parent.info.args["val"] is 2.0
        self.args["val"] = self.val = float(self.args["val"])


@register
class AddScalar(ScalarOp):
    """y = x + val."""

    args_spec = {"val": 1.0, "inplace": False}
    grad_uses = ""

    def compute(self, xp, x):
        return x + self.val

    def backward_unary(self, xp, x, y, gy):
        return gy


@register
class MulScalar(ScalarOp):
    """y = x * val."""

    args_spec = {"val": 1.0, "inplace": False}
    grad_uses = ""

    def compute(self, xp, x):
        return x * self.val

    def backward_unary(self, xp, x, y, gy):
        return gy * self.val


@register
class RSubScalar(ScalarOp):
    """y = val - x."""

    fname = "r_sub_scalar"
    grad_uses = ""

    def compute(self, xp, x):
        return self.val - x

    def backward_unary(self, xp, x, y, gy):
        return -gy


@register
class RDivScalar(ScalarOp):
    """y = val / x."""

    fname = "r_div_scalar"

    def compute(self, xp, x):
        return self.val / x

    def backward_unary(self, xp, x, y, gy):
        return -gy * self.val / (x * x)


@register
class PowScalar(ScalarOp):
    """y = x ** val."""

    args_spec = {"val": 1.0, "inplace": False}

    def compute(self, xp, x):
        return x**self.val

    def backward_unary(self, xp, x, y, gy):
        return gy * self.val * x ** (self.val - 1)


@register
class RPowScalar(ScalarOp):
    """y = val ** x."""

    fname = "r_pow_scalar"
    grad_uses = "y"

    def compute(self, xp, x):
        return self.val**x

    def backward_unary(self, xp, x, y, gy):
        return gy * y * math.log(self.val) if self.val > 0 else gy * 0


@register
class MaximumScalar(ScalarOp):
    """y = max(x, val)."""

    signature_defaults = {}  # NNabla shows val=1.0 here

    def compute(self, xp, x):
        return extreme(xp, xp.maximum, x, self.val)

    def backward_unary(self, xp, x, y, gy):
        return gy * (x > self.val)


@register
class MinimumScalar(ScalarOp):
    """y = min(x, val)."""

    signature_defaults = {}  # NNabla shows val=1.0 here

    def compute(self, xp, x):
        return extreme(xp, xp.minimum, x, self.val)

    def backward_unary(self, xp, x, y, gy):
        return gy * (x < self.val)


class NaryOp(Function):
    inputs_spec = ("*x",)

    def output_shapes(self, *shapes):
        return [broadcast_shapes(self, *shapes)]


@register
class AddN(NaryOp):
    """y = x[0] + x[1] + ... (all inputs of one shape)."""

    grad_uses = ""

    def compute(self, xp, *xs):
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return y

    def grad(self, xp, xs, ys, gys, need):
        from ._base import unbroadcast

        return tuple(unbroadcast(xp, gys[0], x.shape) if n else None for x, n in zip(xs, need))


@register
class MulN(NaryOp):
    """y = x[0] * x[1] * ..."""

    def compute(self, xp, *xs):
        y = xs[0]
        for x in xs[1:]:
            y = y * x
        return y

    def grad(self, xp, xs, ys, gys, need):
        from ._base import unbroadcast

        out = []
        for i, (x, n) in enumerate(zip(xs, need)):
            if not n:
                out.append(None)
                continue
            g = gys[0]
            for j, other in enumerate(xs):
                if j != i:
                    g = g * other
            out.append(unbroadcast(xp, g, x.shape))
        return tuple(out)
