"""Python operators shared by Variable and NdArray, each mapped to the NNabla function it creates.

With Variable operands they build graph nodes; with an NdArray operand they run at once (imperative mode).
In-place forms (``+=`` ...) write into an NdArray's own buffer; on a Variable they build a new node.
"""

from __future__ import annotations

import numbers

import numpy as np


def _F():
    from . import functions

    return functions


def _is_scalar(v) -> bool:
    return isinstance(v, numbers.Number) or (isinstance(v, np.ndarray) and v.ndim == 0)


class OperatorMixin:
    __slots__ = ()
    __array_priority__ = 1000  # numpy defers to our reflected operators

    def __pos__(self):
        return self

    def __neg__(self):
        return _F().mul_scalar(self, -1.0)

    def __abs__(self):
        return _F().abs(self)

    def __add__(self, other):
        if _is_scalar(other):
            return _F().add_scalar(self, float(other))
        return _F().add2(self, other)

    def __radd__(self, other):
        if _is_scalar(other):
            return _F().add_scalar(self, float(other))
        return _F().add2(other, self)

    def __sub__(self, other):
        if _is_scalar(other):
            return _F().add_scalar(self, -float(other))
        return _F().sub2(self, other)

    def __rsub__(self, other):
        if _is_scalar(other):
            return _F().r_sub_scalar(self, float(other))
        return _F().sub2(other, self)

    def __mul__(self, other):
        if _is_scalar(other):
            return _F().mul_scalar(self, float(other))
        return _F().mul2(self, other)

    def __rmul__(self, other):
        if _is_scalar(other):
            return _F().mul_scalar(self, float(other))
        return _F().mul2(other, self)

    def __truediv__(self, other):
        if _is_scalar(other):
            return _F().mul_scalar(self, 1.0 / float(other))
        return _F().div2(self, other)

    def __rtruediv__(self, other):
        if _is_scalar(other):
            return _F().r_div_scalar(self, float(other))
        return _F().div2(other, self)

    def __pow__(self, other):
        if _is_scalar(other):
            return _F().pow_scalar(self, float(other))
        return _F().pow2(self, other)

    def __rpow__(self, other):
        if _is_scalar(other):
            return _F().r_pow_scalar(self, float(other))
        return _F().pow2(other, self)

    def __matmul__(self, other):
        return _F()._matmul(self, other)

    def __rmatmul__(self, other):
        return _F()._matmul(other, self)

    # comparisons build Equal/Greater/... nodes, as in NNabla
    def __lt__(self, other):
        return _F().less_scalar(self, float(other)) if _is_scalar(other) else _F().less(self, other)

    def __le__(self, other):
        return _F().less_equal_scalar(self, float(other)) if _is_scalar(other) else _F().less_equal(self, other)

    def __gt__(self, other):
        return _F().greater_scalar(self, float(other)) if _is_scalar(other) else _F().greater(self, other)

    def __ge__(self, other):
        if _is_scalar(other):
            return _F().greater_equal_scalar(self, float(other))
        return _F().greater_equal(self, other)

    # == and != keep Python identity (Variables live in lists, sets and dict keys), as NNabla's do
    __hash__ = object.__hash__

    def __getitem__(self, key):
        return _F()._getitem(self, key)

    # in-place: NdArray writes into itself, Variable builds a new node (Python rebinds the name)
    def _inplace(self, result):
        from ._array import NdArray

        if isinstance(self, NdArray):
            self.copy_from(result)
            return self
        return result

    def __iadd__(self, other):
        return self._inplace(self.__add__(other))

    def __isub__(self, other):
        return self._inplace(self.__sub__(other))

    def __imul__(self, other):
        return self._inplace(self.__mul__(other))

    def __itruediv__(self, other):
        return self._inplace(self.__truediv__(other))

    def __ipow__(self, other):
        return self._inplace(self.__pow__(other))
