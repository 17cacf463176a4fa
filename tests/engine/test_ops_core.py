"""Reference and gradient checks for the core ops: arithmetic, basic activations, reductions, affine."""

import numpy as np
import pytest

import nnabla.functions as F
from opcheck import Case, check_forward, check_grad, randn, uniform


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


CASES = [
    Case("add2", F.add2, np.add, [randn(2, 3), randn(2, 3, seed=1)]),
    Case("add2_broadcast", F.add2, np.add, [randn(2, 3), randn(1, 3, seed=1)]),
    Case("sub2", F.sub2, np.subtract, [randn(2, 3), randn(3, seed=1)]),
    Case("mul2", F.mul2, np.multiply, [randn(2, 3), randn(2, 1, seed=1)]),
    Case("div2", F.div2, np.divide, [randn(2, 3), uniform(0.5, 2, 2, 3)]),
    Case("pow2", F.pow2, np.power, [uniform(0.5, 2, 2, 3), randn(2, 3)]),
    Case("maximum2", F.maximum2, np.maximum, [randn(2, 3), randn(2, 3, seed=1)]),
    Case("minimum2", F.minimum2, np.minimum, [randn(2, 3), randn(2, 3, seed=1)]),
    Case("add_scalar", lambda x: F.add_scalar(x, 1.5), lambda x: x + 1.5, [randn(2, 3)]),
    Case("mul_scalar", lambda x: F.mul_scalar(x, -2.0), lambda x: x * -2.0, [randn(2, 3)]),
    Case("r_sub_scalar", lambda x: F.r_sub_scalar(x, 2.0), lambda x: 2.0 - x, [randn(2, 3)]),
    Case("r_div_scalar", lambda x: F.r_div_scalar(x, 2.0), lambda x: 2.0 / x, [uniform(0.5, 2, 2, 3)]),
    Case("pow_scalar", lambda x: F.pow_scalar(x, 3.0), lambda x: x**3.0, [randn(2, 3)]),
    Case("r_pow_scalar", lambda x: F.r_pow_scalar(x, 2.0), lambda x: 2.0**x, [randn(2, 3)]),
    Case("maximum_scalar", lambda x: F.maximum_scalar(x, 0.2), lambda x: np.maximum(x, 0.2), [randn(2, 3)]),
    Case("minimum_scalar", lambda x: F.minimum_scalar(x, 0.2), lambda x: np.minimum(x, 0.2), [randn(2, 3)]),
    Case("add_n", lambda *x: F.add_n(*x), lambda *x: sum(x), [randn(2, 3), randn(2, 3, seed=1), randn(2, 3, seed=2)]),
    Case(
        "mul_n",
        lambda *x: F.mul_n(*x),
        lambda a, b, c: a * b * c,
        [randn(2, 3), randn(2, 3, seed=1), randn(2, 3, seed=2)],
    ),
    Case("sigmoid", F.sigmoid, sigmoid, [randn(2, 3)]),
    Case("tanh", F.tanh, np.tanh, [randn(2, 3)]),
    Case("relu", F.relu, lambda x: np.maximum(x, 0), [randn(3, 4)]),
    Case("sum_all", F.sum, np.sum, [randn(2, 3)]),
    Case("sum_axis", lambda x: F.sum(x, axis=1, keepdims=True), lambda x: x.sum(1, keepdims=True), [randn(2, 3, 4)]),
    Case("mean_axes", lambda x: F.mean(x, axis=(0, 2)), lambda x: x.mean((0, 2)), [randn(2, 3, 4)]),
    Case("reduce_sum", F.reduce_sum, np.sum, [randn(2, 3)]),
    Case("reduce_mean", F.reduce_mean, np.mean, [randn(2, 3)]),
    Case("affine", F.affine, lambda x, w, b: x @ w + b, [randn(4, 3), randn(3, 5, seed=1), randn(5, seed=2)]),
    Case(
        "affine_nobias_base_axis2",
        lambda x, w: F.affine(x, w, base_axis=2),
        lambda x, w: x.reshape(2, 3, 4) @ w,
        [randn(2, 3, 4), randn(4, 2, seed=1)],
    ),
    Case(
        "affine_outmaps_tuple",
        F.affine,
        lambda x, w, b: (x @ w.reshape(3, -1)).reshape(4, 2, 5) + b,
        [randn(4, 3), randn(3, 2, 5, seed=1), randn(2, 5, seed=2)],
    ),
    Case("squared_error", F.squared_error, lambda a, b: (a - b) ** 2, [randn(2, 3), randn(2, 3, seed=1)]),
    Case("reshape", lambda x: F.reshape(x, (3, -1)), lambda x: x.reshape(3, -1), [randn(2, 3, 2)]),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)
