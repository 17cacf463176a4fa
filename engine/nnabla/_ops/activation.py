"""Activations: elementwise nonlinearities and their gradients."""

from __future__ import annotations

from ..function import register
from ._base import Unary


@register
class Sigmoid(Unary):
    """y = 1 / (1 + exp(-x))."""

    grad_uses = "y"

    def compute(self, xp, x):
        return 1 / (1 + xp.exp(-x))

    def backward_unary(self, xp, x, y, gy):
        return gy * y * (1 - y)


@register
class Tanh(Unary):
    """y = tanh(x)."""

    grad_uses = "y"

    def compute(self, xp, x):
        return xp.tanh(x)

    def backward_unary(self, xp, x, y, gy):
        return gy * (1 - y * y)


@register
class ReLU(Unary):
    """y = max(0, x)."""

    fname = "relu"
    args_spec = {"inplace": False}

    def compute(self, xp, x):
        return xp.maximum(x, 0)

    def backward_unary(self, xp, x, y, gy):
        return gy * (x > 0)
