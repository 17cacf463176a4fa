"""Comparisons and logical operations: elementwise, no gradient, results as 0/1 in the input's float type."""

from __future__ import annotations

from ..function import FunctionError, apply, register
from ._base import NoGrad, NoGradBinary


class Compare(NoGradBinary):
    """y = 1 where ``test(x0, x1)`` holds, 0 elsewhere (inputs broadcast)."""

    def test(self, x0, x1):
        raise NotImplementedError

    def compute(self, xp, x0, x1):
        return self.test(x0, x1).astype(x0.dtype)


class CompareScalar(NoGrad):
    """y = 1 where ``test(x0, val)`` holds, 0 elsewhere."""

    inputs_spec = ("x0",)
    args_spec = {"val": 1}

    def test(self, x0, val):
        raise NotImplementedError

    def compute(self, xp, x0):
        # val is compared in the compute type, as NNabla casts it to T
        return self.test(x0, x0.dtype.type(self.args["val"])).astype(x0.dtype)


@register
class Equal(Compare):
    """y = (x0 == x1)."""

    def test(self, x0, x1):
        return x0 == x1


@register
class NotEqual(Compare):
    """y = (x0 != x1)."""

    def test(self, x0, x1):
        return x0 != x1


@register
class Greater(Compare):
    """y = (x0 > x1)."""

    def test(self, x0, x1):
        return x0 > x1


@register
class GreaterEqual(Compare):
    """y = (x0 >= x1)."""

    def test(self, x0, x1):
        return x0 >= x1


@register
class Less(Compare):
    """y = (x0 < x1)."""

    def test(self, x0, x1):
        return x0 < x1


@register
class LessEqual(Compare):
    """y = (x0 <= x1)."""

    def test(self, x0, x1):
        return x0 <= x1


@register
class EqualScalar(CompareScalar):
    """y = (x0 == val)."""

    def test(self, x0, val):
        return x0 == val


@register
class NotEqualScalar(CompareScalar):
    """y = (x0 != val)."""

    def test(self, x0, val):
        return x0 != val


@register
class GreaterScalar(CompareScalar):
    """y = (x0 > val)."""

    def test(self, x0, val):
        return x0 > val


@register
class GreaterEqualScalar(CompareScalar):
    """y = (x0 >= val)."""

    def test(self, x0, val):
        return x0 >= val


@register
class LessScalar(CompareScalar):
    """y = (x0 < val)."""

    def test(self, x0, val):
        return x0 < val


@register
class LessEqualScalar(CompareScalar):
    """y = (x0 <= val)."""

    def test(self, x0, val):
        return x0 <= val


@register
class LogicalAnd(Compare):
    """y = x0 and x1 (nonzero is true)."""

    def test(self, x0, x1):
        return (x0 != 0) & (x1 != 0)


@register
class LogicalOr(Compare):
    """y = x0 or x1 (nonzero is true)."""

    def test(self, x0, x1):
        return (x0 != 0) | (x1 != 0)


@register
class LogicalXor(Compare):
    """y = x0 xor x1 (nonzero is true)."""

    def test(self, x0, x1):
        return (x0 != 0) ^ (x1 != 0)


@register
class LogicalNot(NoGrad):
    """y = not x0 (nonzero is true)."""

    inputs_spec = ("x0",)

    def compute(self, xp, x0):
        return (x0 == 0).astype(x0.dtype)


class LogicalScalar(NoGrad):
    """y = test(x0 != 0, val) for a bool ``val`` (required, as in NNabla)."""

    inputs_spec = ("x0",)
    args_spec = {"val": None}

    def init(self):
        val = self.args["val"]
        if val is None:
            raise FunctionError(f"{self.type_name}: argument val (a bool) is required")
        self.args["val"] = bool(val)

    def test(self, x0, val):
        raise NotImplementedError

    def compute(self, xp, x0):
        return self.test(x0 != 0, self.args["val"]).astype(x0.dtype)


@register
class LogicalAndScalar(LogicalScalar):
    """y = x0 and val."""

    def test(self, x0, val):
        return x0 & val


@register
class LogicalOrScalar(LogicalScalar):
    """y = x0 or val."""

    def test(self, x0, val):
        return x0 | val


@register
class LogicalXorScalar(LogicalScalar):
    """y = x0 xor val."""

    def test(self, x0, val):
        return x0 ^ val


def _required_val_wrapper(cls, name):
    def wrapper(x0, val, n_outputs=-1, outputs=None):
        return apply(cls(None, val=val), (x0,), outputs=outputs, n_outputs=n_outputs)

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = cls.__doc__
    return wrapper


# NNabla's logical_*_scalar take val without a default, unlike the generated wrappers
PUBLIC = {
    name: _required_val_wrapper(cls, name)
    for name, cls in (
        ("logical_and_scalar", LogicalAndScalar),
        ("logical_or_scalar", LogicalOrScalar),
        ("logical_xor_scalar", LogicalXorScalar),
    )
}
