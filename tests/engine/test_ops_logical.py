"""Reference checks for comparisons and logical operations (0/1 float outputs, no gradient)."""

import inspect

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward

A = np.array([[0.0, 1.0, 2.0], [-1.0, 1.0, 0.5]], np.float32)
B = np.array([[0.0, 2.0, 1.0], [-1.0, 0.0, 0.5]], np.float32)
ROW = np.array([1.0, 0.0, 0.5], np.float32)


def as_float(fn):
    return lambda *xs: fn(*xs).astype(np.float32)


CASES = [
    Case("equal", F.equal, as_float(np.equal), [A, B]),
    Case("not_equal", F.not_equal, as_float(np.not_equal), [A, B]),
    Case("greater", F.greater, as_float(np.greater), [A, B]),
    Case("greater_equal", F.greater_equal, as_float(np.greater_equal), [A, B]),
    Case("less", F.less, as_float(np.less), [A, B]),
    Case("less_equal", F.less_equal, as_float(np.less_equal), [A, B]),
    Case("equal_broadcast", F.equal, as_float(np.equal), [A, ROW]),
    Case("less_broadcast", F.less, as_float(np.less), [ROW, A]),
    Case("equal_scalar", F.equal_scalar, as_float(lambda x: x == 1), [A]),
    Case("not_equal_scalar", lambda x: F.not_equal_scalar(x, 0.5), as_float(lambda x: x != 0.5), [A]),
    Case("greater_scalar", F.greater_scalar, as_float(lambda x: x > 1), [A]),
    Case("greater_equal_scalar", lambda x: F.greater_equal_scalar(x, 0.5), as_float(lambda x: x >= 0.5), [A]),
    Case("less_scalar", lambda x: F.less_scalar(x, 0.0), as_float(lambda x: x < 0), [A]),
    Case("less_equal_scalar", F.less_equal_scalar, as_float(lambda x: x <= 1), [A]),
    Case("logical_and", F.logical_and, as_float(np.logical_and), [A, B]),
    Case("logical_or", F.logical_or, as_float(np.logical_or), [A, B]),
    Case("logical_xor", F.logical_xor, as_float(np.logical_xor), [A, B]),
    Case("logical_xor_broadcast", F.logical_xor, as_float(np.logical_xor), [A, ROW]),
    Case("logical_not", F.logical_not, as_float(np.logical_not), [A]),
    Case("logical_and_scalar", lambda x: F.logical_and_scalar(x, True), as_float(lambda x: x != 0), [A]),
    Case("logical_and_scalar_false", lambda x: F.logical_and_scalar(x, False), lambda x: np.zeros_like(x), [A]),
    Case("logical_or_scalar", lambda x: F.logical_or_scalar(x, False), as_float(lambda x: x != 0), [A]),
    Case("logical_or_scalar_true", lambda x: F.logical_or_scalar(x, True), lambda x: np.ones_like(x), [A]),
    Case("logical_xor_scalar", lambda x: F.logical_xor_scalar(x, True), as_float(lambda x: x == 0), [A]),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


def test_outputs_are_float_and_carry_no_gradient():
    x = nn.Variable.from_numpy_array(A, need_grad=True)
    y = F.greater(x, nn.Variable.from_numpy_array(B, need_grad=True))
    assert not y.need_grad
    y.forward()
    assert y.d.dtype == np.float32
    assert not F.logical_not(x).need_grad


def test_scalar_comparison_default_val_is_one():
    assert inspect.signature(F.equal_scalar).parameters["val"].default == 1
    assert inspect.signature(F.less_equal_scalar).parameters["val"].default == 1


def test_scalar_is_compared_in_the_compute_precision():
    # 0.1 is not a float32; NNabla compares x with val cast to the compute type
    y = F.equal_scalar(nn.Variable.from_numpy_array(np.array([0.1], np.float32)), 0.1)
    y.forward()
    assert y.d[0] == 1


def test_variable_comparison_operators_build_nodes():
    x = nn.Variable.from_numpy_array(A)
    z = nn.Variable.from_numpy_array(B)
    for expr, ref in [(x < z, A < B), (x <= 1, A <= 1), (x > 0.5, A > 0.5), (x >= z, A >= B)]:
        expr.forward()
        np.testing.assert_array_equal(expr.d, ref.astype(np.float32))


def test_logical_scalar_needs_val():
    assert inspect.signature(F.logical_and_scalar).parameters["val"].default is inspect.Parameter.empty
    with pytest.raises(TypeError):
        F.logical_or_scalar(nn.Variable((2,)))
    with pytest.raises(FunctionError, match="LogicalXorScalar: argument val"):
        F.logical_xor_scalar(nn.Variable((2,)), None)


def test_comparison_rejects_shapes_that_do_not_broadcast():
    with pytest.raises(FunctionError, match=r"GreaterEqual: input shapes \(2, 3\) and \(2,\)"):
        F.greater_equal(nn.Variable((2, 3)), nn.Variable((2,)))
